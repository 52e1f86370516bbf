// Durability of the ledger across a crash: concurrent clients load airlockd, it is SIGKILLed
// mid-load and restarted on the same data dir; every request that completed more than
// DURABLE_AFTER_MS before the kill must be in the ledger, once.
// Run: AIRLOCKD=… AIRLOCKCTL=… node crash_e2e.mjs

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
    startAirlockd, makeTempDir, removeDir, ledgerRequests, httpRequest, sleep, waitForLedgerIds,
} from './lib.mjs';
import { startFakeProvider, outputText } from './fake_provider.mjs';

const CLIENTS = 16;
const LOAD_MS = 3000;
const DURABLE_AFTER_MS = 1000;
const MIN_DURABLE_REQUESTS = 50; // below this the test proves nothing
const REQUEST_TIMEOUT_MS = 10000;
const LEDGER_LIMIT = 100000;

let fake;
let dataDir;
const daemons = [];

after(async () => {
    for (const d of daemons) await d.kill();
    if (fake) await fake.close();
    if (!process.env.E2E_KEEP) await removeDir(dataDir);
});

function chatRequest(agent, port, i) {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `crash test ${i}` }] });
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
            headers: { 'content-type': 'application/json', authorization: 'Bearer sk-crash',
                'content-length': Buffer.byteLength(body) } }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, id: res.headers['x-airlock-request-id'],
                body: Buffer.concat(chunks).toString('utf8'), doneAt: Date.now() }));
            res.on('error', reject);
        });
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
    });
}

test('requests completed before a SIGKILL survive in the ledger, without duplicates', async (t) => {
    fake = await startFakeProvider({ maxRecorded: 1000 });
    dataDir = await makeTempDir('airlock-crash-e2e-');
    const upstreams = { openai: fake.url, anthropic: fake.url, gemini: fake.url };
    const first = await startAirlockd({ dataDir, upstreams });
    daemons.push(first);

    const completed = []; // {id, doneAt}
    const failures = [];
    let stop = false;
    let counter = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const client = async () => {
        while (!stop) {
            let r;
            try {
                r = await chatRequest(agent, first.port, counter++);
            } catch (e) {
                if (!stop) failures.push(e.message);
                return;
            }
            if (r.status !== 200) {
                failures.push(`status ${r.status}: ${r.body.slice(0, 200)}`);
                continue;
            }
            assert.ok(r.id, 'every response carries x-airlock-request-id');
            assert.equal(JSON.parse(r.body).choices[0].message.content, outputText());
            completed.push({ id: r.id, doneAt: r.doneAt });
        }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    await sleep(LOAD_MS);
    stop = true;
    const killAt = Date.now();
    const exit = await first.kill();
    assert.equal(exit.signal, 'SIGKILL', `airlockd was killed, not exited on its own: ${JSON.stringify(exit)}`);
    await Promise.all(clients);
    agent.destroy();
    assert.deepEqual(failures, [], 'no request failed before the kill');

    const durable = completed.filter((c) => c.doneAt < killAt - DURABLE_AFTER_MS);
    assert.ok(durable.length >= MIN_DURABLE_REQUESTS,
        `enough load to mean something: ${durable.length} requests done > ${DURABLE_AFTER_MS} ms before the kill ` +
        `(${completed.length} in all)`);
    const responseIds = completed.map((c) => c.id);
    assert.equal(new Set(responseIds).size, responseIds.length, 'response ids unique');

    const second = await startAirlockd({ dataDir, upstreams });
    daemons.push(second);

    const rows = await ledgerRequests(dataDir, LEDGER_LIMIT);
    t.diagnostic(`${counter} requests sent, ${completed.length} completed, ${durable.length} completed ` +
        `>${DURABLE_AFTER_MS} ms before the kill; ${rows.length} ledger rows after the restart`);
    const ids = rows.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate rows after the restart');
    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = durable.filter((c) => !byId.has(c.id));
    assert.deepEqual(missing.slice(0, 10), [],
        `${missing.length} of ${durable.length} durable requests missing from the ledger`);
    for (const c of durable) {
        const row = byId.get(c.id);
        assert.equal(row.outcome, 'ok');
        assert.equal(row.status, 200);
        assert.equal(row.input_tokens, 3);
        assert.equal(row.output_tokens, 5);
    }
    // Rows for requests cut off by the kill are allowed, but never more rows than requests sent.
    assert.ok(rows.length <= counter + 1, `at most one row per request sent (${rows.length} rows, ${counter} sent)`);

    // The restarted daemon serves and records again.
    const r = await httpRequest(`${second.url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-crash' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'after restart' }] }),
    });
    assert.equal(r.status, 200);
    const newId = r.headers['x-airlock-request-id'];
    assert.ok(newId && !byId.has(newId), 'a fresh id after the restart');
    await waitForLedgerIds(dataDir, [newId], { timeoutMs: 5000, limit: LEDGER_LIMIT });
    const exit2 = await second.stop();
    assert.ok(exit2.code === 0 || exit2.signal === 'SIGTERM', `clean shutdown on SIGTERM: ${JSON.stringify(exit2)}`);
});
