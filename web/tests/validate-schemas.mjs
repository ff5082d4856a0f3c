// Validates messages against netpulse's JSON Schemas (docs/schema/, draft 2020-12) with ajv.
//
//   node web/tests/validate-schemas.mjs <schema folder> <messages folder>
//
// The messages folder holds <schema name>.json files, each a JSON array of messages that
// should match docs/schema/<schema name>.json. Prints every mismatch, and every schema with
// no messages; exits 1 if there is any.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";

const [schemaDir, messageDir] = process.argv.slice(2);
if (!schemaDir || !messageDir) {
  console.error("usage: validate-schemas.mjs <schema folder> <messages folder>");
  process.exit(2);
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
const schemas = readdirSync(schemaDir).filter((f) => f.endsWith(".json")).sort();
// Every schema is known before any is compiled, so one may refer to another by file name
// (resolved against its $id), as poll-batch.json does to poll-job.json.
const ids = new Map();
for (const file of schemas) {
  const schema = JSON.parse(readFileSync(join(schemaDir, file), "utf8"));
  ajv.addSchema(schema);
  ids.set(file, schema.$id);
}
const given = new Set(readdirSync(messageDir));
let problems = 0;
let checked = 0;
for (const file of schemas) {
  const validate = ajv.getSchema(ids.get(file));
  if (!given.has(file)) {
    console.log(`${file}: no live message was checked against it`);
    problems += 1;
    continue;
  }
  const messages = JSON.parse(readFileSync(join(messageDir, file), "utf8"));
  messages.forEach((message, i) => {
    checked += 1;
    if (!validate(message)) {
      problems += 1;
      console.log(`${file}: message ${i} does not match:`);
      for (const e of validate.errors) {
        console.log(`  ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
      }
      console.log(`  ${JSON.stringify(message)}`);
    }
  });
  given.delete(file);
}
for (const stray of given) {
  console.log(`${stray}: messages for a schema that does not exist`);
  problems += 1;
}
console.log(`${checked} messages checked against ${schemas.length} schemas; ${problems} problems`);
process.exit(problems === 0 ? 0 : 1);
