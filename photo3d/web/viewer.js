// photo3d's web viewer: a layered 3D photo (binary glTF written by photo3d) drawn with WebGL2.
// Written for photo3d; no third-party code. Conventions as photo3d's renderer
// (photo3d/render/renderer.py): camera frame x right, y down, z forward; glTF stores (x, -y, -z);
// the input camera's intrinsics come from asset.extras; the hole guard (node
// "photo3d_hole_guard") is drawn behind everything. The camera only translates, within the
// bounds of the video paths (asset.extras.photo3d.bounds); dragging grabs the scene (drag right:
// the foreground follows the pointer, i.e. the camera moves left), tilting a phone moves the
// camera the way it tilts, the wheel moves it along the axis; without interaction the
// autoplay path plays. URL hash options: #autoplay=none|<path>, #camera=x,y,z.
(function () {
  "use strict";
  const GUARD = "photo3d_hole_guard";
  const IDLE_MS = 4000;
  const TILT_STILL_DEG = 0.5;

  function parseGlb(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== 0x46546c67) throw new Error("not a binary glTF file");
    const jsonLength = view.getUint32(12, true);
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLength)));
    const at = 20 + jsonLength;
    const binLength = at + 8 <= bytes.byteLength ? view.getUint32(at, true) : 0;
    return { json: json, bin: bytes.subarray(at + 8, at + 8 + binLength) };
  }

  const COMPONENTS = { 5120: Int8Array, 5121: Uint8Array, 5122: Int16Array, 5123: Uint16Array, 5125: Uint32Array, 5126: Float32Array };
  const WIDTH = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 };
  const MAXIMA = { 5120: 127, 5121: 255, 5122: 32767, 5123: 65535, 5125: 4294967295, 5126: 1 };

  // An accessor as a Float32Array of count x width (normalised integers scaled to [0, 1]),
  // or, for indices, as a Uint32Array.
  function readAccessor(gltf, index, asIndex) {
    const acc = gltf.json.accessors[index];
    const bufferView = gltf.json.bufferViews[acc.bufferView];
    const Type = COMPONENTS[acc.componentType];
    const width = WIDTH[acc.type];
    const size = Type.BYTES_PER_ELEMENT;
    const stride = bufferView.byteStride || size * width;
    const start = gltf.bin.byteOffset + (bufferView.byteOffset || 0) + (acc.byteOffset || 0);
    const out = asIndex ? new Uint32Array(acc.count * width) : new Float32Array(acc.count * width);
    const scale = acc.normalized ? 1 / MAXIMA[acc.componentType] : 1;
    if (stride === size * width && start % size === 0) {
      const src = new Type(gltf.bin.buffer, start, acc.count * width);
      for (let i = 0; i < src.length; i++) out[i] = src[i] * scale;
    } else {
      const data = new DataView(gltf.bin.buffer);
      const get = { 5120: "getInt8", 5121: "getUint8", 5122: "getInt16", 5123: "getUint16", 5125: "getUint32", 5126: "getFloat32" }[acc.componentType];
      for (let i = 0; i < acc.count; i++)
        for (let c = 0; c < width; c++) out[i * width + c] = data[get](start + i * stride + c * size, true) * scale;
    }
    return { data: out, width: width };
  }

  // Positions of a primitive in the camera frame: node scale and translation applied, axes flipped.
  // Every node reachable from the scene with its ancestors' scales and translations composed
  // (all photo3d writes: the guard's border skirt is a child of the guard, on its own grid),
  // and whether it is (in) the hole guard.
  function sceneNodes(gltf) {
    const nodes = gltf.json.nodes || [];
    const scenes = gltf.json.scenes || [{ nodes: nodes.map(function (_, i) { return i; }) }];
    const out = [];
    const visit = function (i, s0, t0, guard) {
      const node = nodes[i], s1 = node.scale || [1, 1, 1], t1 = node.translation || [0, 0, 0];
      const s = [0, 1, 2].map(function (c) { return s0[c] * s1[c]; });
      const t = [0, 1, 2].map(function (c) { return t0[c] + s0[c] * t1[c]; });
      const inGuard = guard || node.name === GUARD;
      out.push({ node: node, scale: s, translation: t, guard: inGuard });
      for (const c of node.children || []) visit(c, s, t, inGuard);
    };
    for (const scene of scenes) for (const i of scene.nodes || []) visit(i, [1, 1, 1], [0, 0, 0], false);
    return out;
  }

  function cameraPositions(gltf, placed, accessorIndex) {
    const p = readAccessor(gltf, accessorIndex, false);
    const s = placed.scale, t = placed.translation;
    const out = new Float32Array((p.data.length / p.width) * 3);
    for (let i = 0, j = 0; j < out.length; i += p.width, j += 3) {
      out[j] = p.data[i] * s[0] + t[0];
      out[j + 1] = -(p.data[i + 1] * s[1] + t[1]);
      out[j + 2] = -(p.data[i + 2] * s[2] + t[2]);
    }
    return out;
  }

  const VERTEX_SHADER = `#version 300 es
    uniform mat4 u_mvp;
    uniform float u_behind;   // > -2: NDC depth for the hole guard, drawn behind everything
    in vec3 a_position;
    in vec2 a_uv;
    in vec4 a_color;          // glTF COLOR_0: linear
    // no multisampling (see draw): a pixel is shaded only where its centre lies in the
    // triangle, so the texture is never read outside the triangle's atlas cell (no seams)
    uniform bool u_projective;  // uv affine in the input image: projective texturing
    out vec3 v_uvw;
    out vec3 v_color;
    vec3 toSrgb(vec3 c) {
      c = clamp(c, 0.0, 1.0);
      return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
    }
    void main() {
      gl_Position = u_mvp * vec4(a_position, 1.0);
      if (u_behind > -2.0) gl_Position.z = gl_Position.w * u_behind;
      // as photo3d's renderer: a large patch on a slanted surface would show its texels displaced
      // with uv interpolated along the triangle; (uv z, z), divided per pixel, puts them where
      // the input camera saw them (a_position is in the input camera's frame)
      v_uvw = u_projective ? vec3(a_uv * a_position.z, a_position.z) : vec3(a_uv, 1.0);
      v_color = toSrgb(a_color.rgb);
    }`;
  const FRAGMENT_SHADER = `#version 300 es
    precision highp float;
    uniform sampler2D u_texture;
    uniform bool u_textured;
    uniform bool u_blend;       // the soft rim: its texels' alpha (straight), blended
    in vec3 v_uvw;
    in vec3 v_color;
    out vec4 color;
    void main() {
      vec4 texel = texture(u_texture, v_uvw.xy / v_uvw.z);
      color = u_textured ? vec4(texel.rgb, u_blend ? texel.a : 1.0) : vec4(v_color, 1.0);
    }`;

  function compile(gl, type, source) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
    return shader;
  }

  function program(gl) {
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VERTEX_SHADER));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
    gl.bindAttribLocation(prog, 0, "a_position");
    gl.bindAttribLocation(prog, 1, "a_uv");
    gl.bindAttribLocation(prog, 2, "a_color");
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
    return prog;
  }

  function upload(gl, positions, uv, colors, indices) {
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    const attribute = function (location, data, width) {
      gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
      gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(location);
      gl.vertexAttribPointer(location, width, gl.FLOAT, false, 0, 0);
    };
    attribute(0, positions, 3);
    if (uv) attribute(1, uv.data, 2);
    if (colors) attribute(2, colors.data, colors.width);
    else gl.vertexAttrib4f(2, 1, 1, 1, 1);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, indices, gl.STATIC_DRAW);
    gl.bindVertexArray(null);
    return { vao: vao, count: indices.length, textured: !!uv };
  }

  // The atlas image of a material's base colour texture, decoded once per image; and a WebGL2
  // sampler per glTF sampler (the hole guard's flat quads read their atlas without filtering).
  async function decodeImage(gl, gltf, imageIndex) {
    const image = gltf.json.images[imageIndex];
    const bufferView = gltf.json.bufferViews[image.bufferView];
    const bytes = gltf.bin.subarray(bufferView.byteOffset || 0, (bufferView.byteOffset || 0) + bufferView.byteLength);
    const bitmap = await createImageBitmap(new Blob([bytes], { type: image.mimeType }),
      { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return texture;
  }

  function makeSampler(gl, spec) {
    const nearest = spec && spec.magFilter === gl.NEAREST;
    const sampler = gl.createSampler();
    gl.samplerParameteri(sampler, gl.TEXTURE_MIN_FILTER, nearest ? gl.NEAREST : gl.LINEAR);
    gl.samplerParameteri(sampler, gl.TEXTURE_MAG_FILTER, nearest ? gl.NEAREST : gl.LINEAR);
    gl.samplerParameteri(sampler, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.samplerParameteri(sampler, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return sampler;
  }

  async function materialTexture(gl, gltf, material, cache) {
    const info = material && material.pbrMetallicRoughness && material.pbrMetallicRoughness.baseColorTexture;
    if (!info) return null;
    const tex = gltf.json.textures[info.index];
    if (!cache.images.has(tex.source)) cache.images.set(tex.source, await decodeImage(gl, gltf, tex.source));
    const key = tex.sampler === undefined ? -1 : tex.sampler;
    if (!cache.samplers.has(key)) cache.samplers.set(key, makeSampler(gl, key >= 0 ? gltf.json.samplers[key] : null));
    return { texture: cache.images.get(tex.source), sampler: cache.samplers.get(key) };
  }

  // The glTF scene as drawable parts: {vao, count, textured, texture, guard}; bbox of the mesh.
  async function loadScene(gl, bytes) {
    const gltf = parseGlb(bytes);
    const parts = [];
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    const cache = { images: new Map(), samplers: new Map() };
    for (const placed of sceneNodes(gltf)) {
      const node = placed.node, guard = placed.guard;
      if (node.mesh === undefined) continue;
      for (const prim of gltf.json.meshes[node.mesh].primitives) {
        const positions = cameraPositions(gltf, placed, prim.attributes.POSITION);
        const material = prim.material !== undefined ? gltf.json.materials[prim.material] : null;
        const texture = prim.attributes.TEXCOORD_0 !== undefined && material
          ? await materialTexture(gl, gltf, material, cache) : null;
        const uv = texture ? readAccessor(gltf, prim.attributes.TEXCOORD_0, false) : null;
        const colors = prim.attributes.COLOR_0 !== undefined ? readAccessor(gltf, prim.attributes.COLOR_0, false) : null;
        const count = positions.length / 3;
        const indices = prim.indices !== undefined ? readAccessor(gltf, prim.indices, true).data
          : Uint32Array.from({ length: count }, function (_, i) { return i; });
        const part = upload(gl, positions, uv, colors, indices);
        part.texture = texture ? texture.texture : null;
        part.sampler = texture ? texture.sampler : null;
        part.guard = guard;
        part.blend = !!(material && material.alphaMode === "BLEND");
        // the mesh's uv are affine in the input image; of the guard's, only its strips'
        part.projective = !guard || !!(prim.extras && prim.extras.photo3d && prim.extras.photo3d.projective);
        parts.push(part);
        if (!guard)
          for (let i = 0; i < positions.length; i += 3)
            for (let c = 0; c < 3; c++) {
              const v = positions[i + c];
              if (v < lo[c]) lo[c] = v;
              if (v > hi[c]) hi[c] = v;
            }
      }
    }
    // the guard after the mesh (behind everything), the blended soft rim last (over everything)
    const rank = function (p) { return p.blend ? 2 : p.guard ? 1 : 0; };
    parts.sort(function (a, b) { return rank(a) - rank(b); });
    const extras = gltf.json.asset.extras || {};
    return { parts: parts, lo: lo, hi: hi, extras: extras };
  }

  // Near/far planes around the mesh's box seen from camera centre c, and the guard's NDC depth
  // (as photo3d.render.Renderer._clip_range).
  function clipRange(scene, c) {
    let dmin = Infinity, dmax = -Infinity;
    for (const z of [scene.lo[2], scene.hi[2]]) {
      dmin = Math.min(dmin, z - c[2]);
      dmax = Math.max(dmax, z - c[2]);
    }
    if (dmax <= 0) return [1, 2, 0.5];
    const near = Math.max(0.5 * dmin, 1e-4 * dmax), far = dmax * 1.1 + 1e-6;
    const farNdc = (far + near - 2 * far * near / dmax) / (far - near);
    return [near, far, 0.5 * (farNdc + 1)];
  }

  // Column-major MVP for a canvas of w x h with the input camera scaled to it, camera at c.
  function mvp(k, w, h, c, focalScale, near, far) {
    const sx = w / k.width, sy = h / k.height;
    const fx = k.fx * sx * focalScale, fy = k.fy * sy * focalScale;
    const cx = (k.cx + 0.5) * sx - 0.5, cy = (k.cy + 0.5) * sy - 0.5;
    const a = 2 * fx / w, b = 2 * (cx + 0.5) / w - 1;
    const d = -2 * fy / h, e = 1 - 2 * (cy + 0.5) / h;  // canvas rows run top-down: flip y
    const p = (far + near) / (far - near), q = -2 * far * near / (far - near);
    // projection @ translate(-c): row-major [[a,0,b,-(a c0 + b c2)], [0,d,e,-(d c1 + e c2)], [0,0,p,q - p c2], [0,0,1,-c2]]
    return new Float32Array([a, 0, 0, 0, 0, d, 0, 0, b, e, p, 1,
      -(a * c[0] + b * c[2]), -(d * c[1] + e * c[2]), q - p * c[2], -c[2]]);
  }

  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }

  function hashOptions() {
    const out = {};
    for (const item of location.hash.replace(/^#/, "").split("&")) {
      const [key, value] = item.split("=");
      if (key) out[decodeURIComponent(key)] = decodeURIComponent(value || "");
    }
    return out;
  }

  async function start(canvas, bytes, controls) {
    const gl = canvas.getContext("webgl2", { antialias: false, depth: false, preserveDrawingBuffer: true });
    if (!gl) throw new Error("this browser has no WebGL2");
    const scene = await loadScene(gl, bytes);
    const ex = scene.extras, info = ex.photo3d || {};
    const k = { fx: ex.fx, fy: ex.fy, cx: ex.cx, cy: ex.cy, width: ex.image_size[0], height: ex.image_size[1] };
    // without photo3d's paths (a plain GLB): the reference's ranges in its normalised units
    const bounds = info.bounds || [[-0.015, -0.015, -0.05], [0.015, 0.015, 0.05]];
    const paths = info.paths || {};
    const options = hashOptions();
    let autoplay = options.autoplay !== undefined ? options.autoplay : info.autoplay;
    if (!(autoplay in paths)) autoplay = null;
    const fps = info.fps || 40;
    const prog = program(gl);
    const loc = {
      mvp: gl.getUniformLocation(prog, "u_mvp"), behind: gl.getUniformLocation(prog, "u_behind"),
      textured: gl.getUniformLocation(prog, "u_textured"), texture: gl.getUniformLocation(prog, "u_texture"),
      projective: gl.getUniformLocation(prog, "u_projective"), blend: gl.getUniformLocation(prog, "u_blend"),
    };
    const projective = !!(info.texture && info.texture.projective);
    const state = { camera: [0, 0, 0], focalScale: 1, frames: 0, drawn: null, lastInput: -Infinity, playStart: performance.now() };
    if (options.camera) {
      state.camera = options.camera.split(",").map(Number);
      autoplay = null;
    }
    // The photo fitted into the window, in whole CSS pixels (a CSS min(100vw, 100vh * aspect)
    // lands a pixel short in Firefox and WebKit when it fits exactly: 694.99 px, drawn as 694).
    function fit() {
      const scale = Math.min(document.documentElement.clientWidth / k.width, document.documentElement.clientHeight / k.height);
      canvas.style.width = Math.max(1, Math.floor(k.width * scale + 1e-6)) + "px";
      canvas.style.height = Math.max(1, Math.floor(k.height * scale + 1e-6)) + "px";
    }
    fit();
    window.addEventListener("resize", fit);

    function pixelSize() {
      const dpr = window.devicePixelRatio || 1;
      return [Math.max(1, Math.round(canvas.clientWidth * dpr)), Math.max(1, Math.round(canvas.clientHeight * dpr))];
    }

    // Anti-aliasing by supersampling, as photo3d's renderer: drawn at 2x the canvas into an
    // offscreen target, then box-filtered down (a linear blit to exactly half size averages
    // 2x2); none on screens of 2 device pixels per CSS pixel and more (phones). Not
    // multisampling: a pixel on a triangle's edge then reads the texture at its centre, off the
    // triangle and outside its atlas cell, wherever a driver ignores centroid interpolation
    // (Mesa's llvmpipe, behind Firefox and WebKit here: seams and speckles, 36 dB against
    // photo3d's render on BSDS 100007 where supersampling gives 55 dB).
    const target = { fbo: gl.createFramebuffer(), color: gl.createRenderbuffer(), depth: gl.createRenderbuffer(), w: 0, h: 0 };
    const maxSize = Math.min(gl.getParameter(gl.MAX_RENDERBUFFER_SIZE), 8192);
    function supersample(w, h) { return (window.devicePixelRatio || 1) < 2 && 2 * Math.max(w, h) <= maxSize ? 2 : 1; }
    function bindTarget(w, h) {
      if (target.w !== w || target.h !== h) {
        gl.bindRenderbuffer(gl.RENDERBUFFER, target.color);
        gl.renderbufferStorage(gl.RENDERBUFFER, gl.RGBA8, w, h);
        gl.bindRenderbuffer(gl.RENDERBUFFER, target.depth);
        gl.renderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT24, w, h);
        gl.bindFramebuffer(gl.FRAMEBUFFER, target.fbo);
        gl.framebufferRenderbuffer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.RENDERBUFFER, target.color);
        gl.framebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, target.depth);
        target.w = w; target.h = h;
      }
      gl.bindFramebuffer(gl.FRAMEBUFFER, target.fbo);
    }

    function draw() {
      const [cw, ch] = pixelSize();
      if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
      state.drawn = { camera: state.camera.slice(), focalScale: state.focalScale, w: cw, h: ch };
      const ss = supersample(cw, ch), w = ss * cw, h = ss * ch;
      bindTarget(w, h);
      const [near, far, behind] = clipRange(scene, state.camera);
      gl.viewport(0, 0, w, h);
      gl.enable(gl.DEPTH_TEST);
      gl.disable(gl.CULL_FACE);
      gl.clearColor(0, 0, 0, 1);
      gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
      gl.useProgram(prog);
      gl.uniformMatrix4fv(loc.mvp, false, mvp(k, w, h, state.camera, state.focalScale, near, far));
      gl.uniform1i(loc.texture, 0);
      for (const part of scene.parts) {
        if (part.blend) {  // as photo3d's renderer: blended over what is drawn, depth tested, not written
          gl.enable(gl.BLEND);
          gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
          gl.depthMask(false);
        } else {
          gl.disable(gl.BLEND);
          gl.depthMask(true);
        }
        gl.uniform1i(loc.blend, part.blend ? 1 : 0);
        gl.uniform1f(loc.behind, part.guard ? behind : -3);
        gl.uniform1i(loc.textured, part.textured ? 1 : 0);
        gl.uniform1i(loc.projective, projective && part.projective ? 1 : 0);
        gl.activeTexture(gl.TEXTURE0);
        gl.bindTexture(gl.TEXTURE_2D, part.texture);
        gl.bindSampler(0, part.sampler);
        gl.bindVertexArray(part.vao);
        gl.drawElements(gl.TRIANGLES, part.count, gl.UNSIGNED_INT, 0);
      }
      gl.bindVertexArray(null);
      gl.disable(gl.BLEND);
      gl.depthMask(true);
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, target.fbo);
      gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
      gl.blitFramebuffer(0, 0, w, h, 0, 0, cw, ch, gl.COLOR_BUFFER_BIT, ss > 1 ? gl.LINEAR : gl.NEAREST);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      state.frames += 1;
    }

    function setCamera(c, focalScale) {
      state.camera = [0, 1, 2].map(function (i) { return clamp(Number(c[i]) || 0, bounds[0][i], bounds[1][i]); });
      state.focalScale = focalScale || 1;
    }

    function userMoved() { state.lastInput = performance.now(); }

    // Drag: grab the scene; the full canvas width spans the full x range (height: y range).
    let drag = null;
    canvas.addEventListener("pointerdown", function (ev) {
      drag = { x: ev.clientX, y: ev.clientY, camera: state.camera.slice() };
      canvas.setPointerCapture(ev.pointerId);
      userMoved();
    });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      const dx = (ev.clientX - drag.x) / canvas.clientWidth, dy = (ev.clientY - drag.y) / canvas.clientHeight;
      setCamera([drag.camera[0] - dx * (bounds[1][0] - bounds[0][0]), drag.camera[1] - dy * (bounds[1][1] - bounds[0][1]),
        drag.camera[2]], 1);
      userMoved();
    });
    const endDrag = function () { drag = null; };
    canvas.addEventListener("pointerup", endDrag);
    canvas.addEventListener("pointercancel", endDrag);
    canvas.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      const range = bounds[1][2] - bounds[0][2];
      setCamera([state.camera[0], state.camera[1], state.camera[2] - Math.sign(ev.deltaY) * 0.1 * range], 1);
      userMoved();
    }, { passive: false });

    // Tilt: +-20 degrees around the pose the phone had when tilting began spans the range.
    // gamma (right edge down: +) and beta (top edge up: +) are angles of the device's own
    // axes: turned into the screen's axes by the screen's rotation, so that tilting to the
    // right moves the camera right in landscape too. Turns below TILT_STILL_DEG from the last
    // one applied are sensor noise of a phone held still: they neither move the camera nor
    // stop the autoplay (phones send these events all the time).
    let tiltOrigin = null, tiltLast = null;
    function screenAngle() {
      const o = window.screen && window.screen.orientation;
      if (o && typeof o.angle === "number") return o.angle;
      return typeof window.orientation === "number" ? window.orientation : 0;  // older iOS
    }
    function wrapDegrees(d) { return ((d + 540) % 360) - 180; }
    function onTilt(ev) {
      if (ev.gamma === null || ev.beta === null || ev.gamma === undefined || ev.beta === undefined) return;
      const a = screenAngle() * Math.PI / 180, cos = Math.round(Math.cos(a)), sin = Math.round(Math.sin(a));
      const sx = ev.gamma * cos + ev.beta * sin, sy = -ev.gamma * sin + ev.beta * cos;
      if (controls.tilt) controls.tilt.hidden = true;  // tilting works: nothing to ask
      if (!tiltOrigin) { tiltOrigin = [sx, sy]; tiltLast = [sx, sy]; return; }
      if (Math.hypot(wrapDegrees(sx - tiltLast[0]), wrapDegrees(sy - tiltLast[1])) < TILT_STILL_DEG) return;
      tiltLast = [sx, sy];
      const tx = clamp(wrapDegrees(sx - tiltOrigin[0]) / 20, -1, 1), ty = clamp(wrapDegrees(sy - tiltOrigin[1]) / 20, -1, 1);
      const mid = [0, 1].map(function (i) { return 0.5 * (bounds[0][i] + bounds[1][i]); });
      const half = [0, 1].map(function (i) { return 0.5 * (bounds[1][i] - bounds[0][i]); });
      setCamera([mid[0] + tx * half[0], mid[1] + ty * half[1], state.camera[2]], 1);
      userMoved();
    }
    const resetTilt = function () { tiltOrigin = null; tiltLast = null; };
    if (window.screen && window.screen.orientation && window.screen.orientation.addEventListener)
      window.screen.orientation.addEventListener("change", resetTilt);
    window.addEventListener("orientationchange", resetTilt);
    if (window.DeviceOrientationEvent) {
      // Listening from the start: Android's browsers send the events without asking. iOS (13+)
      // sends none until the user allows them, and asks only when requestPermission is called
      // from a user gesture: so a button, calling it right in its click handler; it goes away
      // once any tilt arrives (Chromium has requestPermission too, and answers "granted").
      // Desktop Safari has the function but no sensor: hence the touch check. All browsers send
      // these events to secure pages only (https or localhost), and to a cross-origin iframe
      // only where it allows them (allow="accelerometer; gyroscope").
      window.addEventListener("deviceorientation", onTilt);
      if (typeof DeviceOrientationEvent.requestPermission === "function" && controls.tilt && navigator.maxTouchPoints > 0) {
        controls.tilt.hidden = false;
        controls.tilt.addEventListener("click", function () {
          DeviceOrientationEvent.requestPermission().then(function () { controls.tilt.hidden = true; },
            function () { controls.tilt.hidden = true; });
        });
      }
    }

    function tick(now) {
      if (autoplay && now - state.lastInput > IDLE_MS) {
        const path = paths[autoplay];
        const n = path.centers.length;
        if (state.lastInput > state.playStart) state.playStart = now;  // restart after interaction
        const i = Math.floor((Math.max(0, now - state.playStart) / 1000) * fps) % n;
        setCamera(path.centers[i], path.focal_scales[i]);
      }
      // drawn only when something changed: a still page costs no GPU time (phones, and pages
      // with several photos), and a software renderer is not kept busy
      const d = state.drawn, [w, h] = pixelSize();
      if (!d || d.w !== w || d.h !== h || d.focalScale !== state.focalScale || d.camera.some(function (v, i) { return v !== state.camera[i]; }))
        draw();
      requestAnimationFrame(tick);
    }
    draw();
    requestAnimationFrame(tick);
    return {
      setCamera: function (c, focalScale) { autoplay = null; setCamera(c, focalScale); draw(); },
      camera: function () { return state.camera.slice(); },
      frames: function () { return state.frames; },
      bounds: bounds, paths: Object.keys(paths), intrinsics: k,
    };
  }

  function base64Bytes(text) {
    const raw = atob(text.replace(/\s+/g, ""));
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  async function main() {
    const canvas = document.getElementById("photo3d-canvas");
    const status = document.getElementById("photo3d-status");
    const embedded = document.getElementById("photo3d-glb");
    let bytes;
    if (embedded && embedded.textContent.trim()) bytes = base64Bytes(embedded.textContent);
    else {
      const response = await fetch(canvas.dataset.src);
      if (!response.ok) throw new Error(canvas.dataset.src + ": " + response.status);
      bytes = new Uint8Array(await response.arrayBuffer());
    }
    const viewer = await start(canvas, bytes, { tilt: document.getElementById("photo3d-tilt") });
    if (status) status.hidden = true;
    return viewer;
  }

  window.photo3dViewer = main().catch(function (err) {
    const status = document.getElementById("photo3d-status");
    if (status) status.textContent = "photo3d viewer: " + err.message;
    // on the console too: whoever awaits window.photo3dViewer would otherwise swallow it
    console.error("photo3d viewer: " + err.message);
    throw err;
  });
})();
