// Parse every card with Microsoft's Adaptive Cards renderer (npm `adaptivecards`), report validation issues for
// schema 1.4, and write one self-contained HTML page per card that renders it in a browser.
//
//   node localdev/cards/render.mjs CARDS.json OUT_DIR
//
// CARDS.json is {kind: card}. Prints {kind: [issue, ...]} as JSON on stdout (empty lists when all is well) and
// writes OUT_DIR/<kind>.html. The pages inline the renderer's script: they load nothing from the network.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
// The package's ES module build does not load in Node 20 (extension-less imports); its UMD bundle does.
const bundlePath = require.resolve("adaptivecards/dist/adaptivecards.min.js");
const AC = require("adaptivecards/dist/adaptivecards.js");

const [cardsFile, outDir] = process.argv.slice(2);
if (!cardsFile || !outDir) {
  console.error("usage: node render.mjs CARDS.json OUT_DIR");
  process.exit(2);
}
const cards = JSON.parse(readFileSync(cardsFile, "utf8"));
mkdirSync(outDir, { recursive: true });
const bundle = readFileSync(bundlePath, "utf8");
const css = readFileSync(path.join(path.dirname(bundlePath), "adaptivecards.css"), "utf8");

function issues(card) {
  const found = [];
  if (card.version !== "1.4") found.push(`version is ${card.version}, not 1.4`);
  const context = new AC.SerializationContext(AC.Versions.v1_4);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) found.push(`parse: ${context.getEventAt(i).message}`);
  for (const event of parsed.validateProperties().validationEvents) found.push(`validate: ${event.message}`);
  return found;
}

// "</" inside an inline script would end it early: escape it in the JSON and the bundle.
const inline = (text) => text.replace(/<\//g, "<\\/");

const report = {};
for (const [kind, card] of Object.entries(cards)) {
  report[kind] = issues(card);
  const page = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${kind}</title><style>${css}
body{margin:0;padding:16px;background:#f5f5f5;font-family:Segoe UI,Helvetica,Arial,sans-serif}
#card{max-width:560px;background:#fff;border:1px solid #e1e1e1;border-radius:4px}</style></head>
<body><div id="card"></div><script>${inline(bundle)}</script><script>
var card = new AdaptiveCards.AdaptiveCard();
card.hostConfig = new AdaptiveCards.HostConfig({fontFamily: "Segoe UI, Helvetica, Arial, sans-serif"});
card.parse(${inline(JSON.stringify(card))});
document.getElementById("card").appendChild(card.render());
document.body.setAttribute("data-rendered", "1");
</script></body></html>`;
  writeFileSync(path.join(outDir, `${kind}.html`), page);
}
process.stdout.write(JSON.stringify(report, null, 1) + "\n");
