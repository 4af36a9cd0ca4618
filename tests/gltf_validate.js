// Validates a glTF/GLB file with the Khronos glTF validator (npm package gltf-validator) and
// prints its report's issue counts and messages as JSON: node gltf_validate.js FILE
// (tests/test_web_readers.py; the package is found through NODE_PATH).
const fs = require("fs");
const validator = require("gltf-validator");
const data = new Uint8Array(fs.readFileSync(process.argv[2]));
validator.validateBytes(data, { maxIssues: 100 }).then(function (report) {
  const issues = report.issues;
  console.log(JSON.stringify({
    errors: issues.numErrors, warnings: issues.numWarnings, infos: issues.numInfos, hints: issues.numHints,
    messages: issues.messages.map(function (m) { return m.severity + " " + m.code + " " + (m.pointer || "") + " " + m.message; }),
    extensions: report.info ? report.info.extensionsUsed : [], validator: report.validatorVersion,
  }));
}, function (err) { console.error(String(err)); process.exit(2); });
