#!/usr/bin/env node
// Opens and saves BPMN files exactly as Camunda Modeler and bpmn.io do: bpmn-moddle with the
// Camunda 7 descriptor reads the XML (dropping what the descriptor does not know or cannot
// resolve), and toXML({format: true}) writes it back, as the Modeler's "Save" does.
//
//   node tools/moddle/roundtrip.mjs --out DIR FILE...   each saved copy goes to DIR/<name>
//   node tools/moddle/roundtrip.mjs FILE                the saved copy goes to standard output
//
// With --out, standard output is one JSON line per file: {"file", "saved", "warnings": [...]},
// where warnings are the import warnings the Modeler would show (unresolved references, unknown
// elements). A file that cannot be read at all gives {"file", "error"} and exit status 1.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { BpmnModdle } from "bpmn-moddle";
import camunda from "camunda-bpmn-moddle/resources/camunda.json" with { type: "json" };

const moddle = new BpmnModdle({ camunda });

async function roundTrip(file) {
  const { rootElement, warnings } = await moddle.fromXML(readFileSync(file, "utf8"), "bpmn:Definitions");
  const { xml } = await moddle.toXML(rootElement, { format: true });
  return { xml, warnings: warnings.map((w) => w.message) };
}

async function main(args) {
  const at = args.indexOf("--out");
  if (at < 0) {
    if (args.length !== 1) {
      process.stderr.write("usage: roundtrip.mjs FILE | roundtrip.mjs --out DIR FILE...\n");
      return 2;
    }
    const { xml, warnings } = await roundTrip(args[0]);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(xml + "\n");
    return 0;
  }
  const dir = args[at + 1];
  const files = args.filter((_, i) => i !== at && i !== at + 1);
  if (!dir || files.length === 0) {
    process.stderr.write("usage: roundtrip.mjs --out DIR FILE...\n");
    return 2;
  }
  mkdirSync(dir, { recursive: true });
  let status = 0;
  for (const file of files) {
    try {
      const { xml, warnings } = await roundTrip(file);
      const saved = join(dir, basename(file));
      writeFileSync(saved, xml + "\n");
      process.stdout.write(JSON.stringify({ file, saved, warnings }) + "\n");
    } catch (err) {
      process.stdout.write(JSON.stringify({ file, error: String(err && err.message) }) + "\n");
      status = 1;
    }
  }
  return status;
}

process.exitCode = await main(process.argv.slice(2));
