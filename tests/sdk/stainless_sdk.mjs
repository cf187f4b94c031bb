// Drives the vendor's own TypeScript SDK (@stainless-api/sdk) against buildmock, unchanged.
// Usage: node stainless_sdk.mjs <base URL>; prints one JSON object with what it saw.
import Stainless from '@stainless-api/sdk';

const client = new Stainless({ apiKey: 'sdk-key', baseURL: process.argv[2], project: 'acme-api', maxRetries: 0 });
const out = {};
const created = await client.builds.create({
  revision: 'main',
  targets: ['python', 'go'],
  target_commit_messages: { python: 'feat(python): refunds' },
}, { headers: { Prefer: 'outcome=success' } });
out.created = { id: created.id, object: created.object, targets: Object.keys(created.targets).sort() };
const again = await client.builds.retrieve(created.id);
out.retrievedSame = again.id === created.id;
for (let i = 0; i < 3; i++) await client.builds.create({ revision: `feature/${i}` });
const seen = [];
for await (const build of client.builds.list({ limit: 2 })) seen.push(build.id);
out.listed = seen;
const pair = await client.builds.compare({
  base: { branch: 'main', revision: 'main' },
  head: { branch: 'feature/x', revision: 'feature/x' },
});
out.compared = [pair.base.object, pair.head.object];
const diagnostics = [];
for await (const d of client.builds.diagnostics.list(created.id, { targets: 'python,go' })) diagnostics.push(d.level);
out.diagnostics = diagnostics;
// Finish the build (the mock's manual clock), then read it in the SDK's current, non-deprecated shape.
const control = new URL('../__buildmock/clock/advance', process.argv[2] + '/');
await fetch(control, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"seconds": 120}' });
const done = (await client.builds.retrieve(created.id)).targets.python;
out.done = { commit: done.commit.conclusion, sha: done.commit.commit?.sha, lint: done.lint?.conclusion, url: done.lint?.url };
const output = await client.builds.targetOutputs.retrieve({ build_id: created.id, target: 'python', type: 'source' });
out.output = { output: output.output, target: output.target };
const ai = await client.builds.create({ revision: 'main', targets: ['sql'], enable_ai_commit_message: true });
out.ai = Object.keys(ai.targets);
try {
  await client.builds.retrieve('bui_aaaaaaaaaaaaaaaaaaaaaaaaaa');
  out.notFound = 'no error';
} catch (err) {
  out.notFound = { name: err.constructor.name, status: err.status, body: err.error };
}
try {
  await new Stainless({ apiKey: null, baseURL: process.argv[2], maxRetries: 0 }).builds.retrieve(created.id, { headers: { Authorization: null } });
  out.unauthorized = 'no error';
} catch (err) {
  out.unauthorized = { name: err.constructor.name, status: err.status };
}
console.log(JSON.stringify(out));
