// The wfdsl extension: .wf files get the TextMate grammar (package.json) and
// a language client that starts `wfdsl lsp` on stdio.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

async function activate(context) {
  const config = vscode.workspace.getConfiguration("wfdsl");
  const [command, ...args] = config.get("server.command", ["wfdsl", "lsp"]);
  const rulesUrl = config.get("rulesUrl", "");
  client = new LanguageClient(
    "wfdsl",
    "wfdsl",
    { command, args },
    {
      documentSelector: [
        { scheme: "file", language: "wf" },
        { scheme: "untitled", language: "wf" },
      ],
      initializationOptions: rulesUrl ? { rulesUrl } : {},
    },
  );
  context.subscriptions.push(client);
  try {
    await client.start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `wfdsl: cannot start "${[command, ...args].join(" ")}": ${err.message}. ` +
        "Install it with pip install 'wfdsl[lsp]', or set wfdsl.server.command.",
    );
  }
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
