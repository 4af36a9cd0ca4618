"""The web: a web-sized GLB of a 3D photo (:mod:`.glb`), photo3d's own WebGL2 viewer in one
self-contained HTML page (:mod:`.page`, ``viewer.js``), and a local server for it
(:mod:`.serve`). Imports core, io, camera and render; nothing above."""
