// Tokenise .wf files with the TextMate grammar, as VS Code does: vscode-textmate
// driving the Oniguruma regex engine (vscode-oniguruma, WebAssembly).
//
//   NODE_PATH=<dir>/node_modules node editors/test/tokenize.js GRAMMAR FILE...
//
// Prints one JSON object: {file: [[line, startColumn, endColumn, text, [scopes]], ...]}.
// Lines and columns are 0-based, columns count UTF-16 code units (JavaScript strings).
"use strict";

const fs = require("fs");
const path = require("path");
const textmate = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

async function main() {
  const [grammarPath, ...files] = process.argv.slice(2);
  const wasm = fs.readFileSync(
    path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"),
  );
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () =>
      textmate.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath),
  });
  const grammar = await registry.loadGrammar("source.wf");
  if (!grammar) throw new Error(`no grammar for source.wf in ${grammarPath}`);
  const out = {};
  for (const file of files) {
    const tokens = [];
    let state = textmate.INITIAL;
    fs.readFileSync(file, "utf8")
      .split(/\r\n|\r|\n/)
      .forEach((line, number) => {
        const result = grammar.tokenizeLine(line, state);
        for (const t of result.tokens) {
          const text = line.slice(t.startIndex, t.endIndex);
          if (text.trim()) tokens.push([number, t.startIndex, t.endIndex, text, t.scopes]);
        }
        state = result.ruleStack;
      });
    out[file] = tokens;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
