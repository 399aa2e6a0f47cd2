// interop_negentropy.mjs — drives Hearth's C Negentropy (tests/interop/interop_negentropy)
// against a JavaScript Negentropy from npm: the one in @nostr-dev-kit/sync
// (--impl sync, the default) or the nip77 module of nostr-tools, a port of the
// reference's own JavaScript (--impl nostr-tools).
//
//   node interop_negentropy.mjs gen --out DIR --n N --diff PCT --seed S [--empty js|c] [--head js|c]
//       DIR/js.txt, DIR/c.txt: item sets ("TIMESTAMP HEX_ID" lines) with N items
//       in their union, PCT% of them on one side only (half each side), or
//       with --empty all N on one side and none on the named side;
//       --head puts the named side's own items after all shared ones (the
//       other side then holds nothing past a late bound: empty closing ranges);
//       DIR/js_only.txt, DIR/c_only.txt: the expected differences (sorted hex).
//   node interop_negentropy.mjs run --modules DIR --c-bin PATH --case DIR
//          --initiator js|c [--js-limit N] [--c-limit N] [--impl sync|nostr-tools]
//       Reconciles js.txt (JS side) with c.txt (C side, a child process speaking
//       hex lines on stdin/stdout) and checks that the initiator's have/need are
//       exactly the symmetric difference. Prints one JSON line; exit 0 if exact.
//       A C initiator may instead refuse an answer as inconsistent (the child
//       exits 3): that counts as passing ("refused": never success with items
//       missing) only with --allow-refusal 1.
//
// --modules is the npm prefix holding node_modules/<package>.
// Timestamps stay below 2^31: the @nostr-dev-kit/sync implementation encodes
// varints with 32-bit operators.
//
// nostr-tools' Negentropy is a client: as a responder it does not answer an
// IdList with its own ids but reports the difference itself and skips the
// range, which the protocol does not allow a responder. Its frame limit
// cannot be 0; "no limit" is passed as 2^40.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";

function args(argv) {
    const out = { _: argv[0] };
    for (let i = 1; i < argv.length; i += 2) {
        if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
        out[argv[i].slice(2)] = argv[i + 1];
    }
    return out;
}

// A seeded 32-bit mixer (splitmix-style): reproducible sets from --seed.
function rng(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x9e3779b9) >>> 0;
        let z = s;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
    };
}

function hexId(next) {
    let h = "";
    for (let i = 0; i < 8; i++) h += next().toString(16).padStart(8, "0");
    return h;
}

function gen(o) {
    const n = Number(o.n), pct = Number(o.diff), next = rng(Number(o.seed || 1));
    const diff = Math.round((n * pct) / 100);
    const tsRange = Math.max(1, Math.floor(n / 4)); // ~4 items per timestamp: id-prefix bounds
    const js = [], c = [], jsOnly = [], cOnly = [];
    const seen = new Set();
    for (let i = 0; i < n; i++) {
        let id;
        do id = hexId(next); while (seen.has(id));
        seen.add(id);
        const own = o.empty ? null : i < n - diff ? null : (i - (n - diff)) % 2 === 0 ? "js" : "c";
        const ts = 1 + (next() % tsRange) + (own !== null && own === o.head ? tsRange : 0);
        const line = `${ts} ${id}`;
        if (o.empty === "c") { js.push(line); jsOnly.push(id); }
        else if (o.empty === "js") { c.push(line); cOnly.push(id); }
        else if (i < n - diff) { js.push(line); c.push(line); }
        else if ((i - (n - diff)) % 2 === 0) { js.push(line); jsOnly.push(id); }
        else { c.push(line); cOnly.push(id); }
    }
    mkdirSync(o.out, { recursive: true });
    const w = (f, lines) => writeFileSync(join(o.out, f), lines.length ? lines.join("\n") + "\n" : "");
    w("js.txt", js); w("c.txt", c); w("js_only.txt", jsOnly.sort()); w("c_only.txt", cOnly.sort());
}

async function loadPackage(modules, name) {
    const dir = join(modules, "node_modules", ...name.split("/"));
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const exp = pkg.exports?.["."];
    const entry = exp?.import?.default || exp?.import || exp?.default || pkg.module || pkg.main;
    return { dir, pkg, entry };
}

// One interface over both implementations: messages are Uint8Arrays.
async function loadImpl(modules, impl) {
    if (impl === "sync") {
        const { dir, entry } = await loadPackage(modules, "@nostr-dev-kit/sync");
        const lib = await import(pathToFileURL(join(dir, entry)).href);
        return (lines, limit) => {
            const storage = new lib.NegentropyStorage();
            for (const [ts, id] of lines) storage.insert(ts, id);
            storage.seal();
            const ne = new lib.Negentropy(storage, limit);
            return {
                initiate: async () => ne.initiate(),
                asInitiator: async (msg) => {
                    const r = await ne.reconcile(msg);
                    return { have: r.have.map(toHex), need: r.need.map(toHex), next: r.nextMessage };
                },
                asResponder: async (msg) => ({ reply: (await ne.reconcile(msg)).nextMessage, have: [], need: [] }),
            };
        };
    }
    if (impl === "nostr-tools") {
        const { dir, pkg } = await loadPackage(modules, "nostr-tools");
        const sub = pkg.exports?.["./nip77"];
        const entry = sub?.import?.default || sub?.import || sub?.default || "lib/esm/nip77.js";
        const lib = await import(pathToFileURL(join(dir, typeof entry === "string" ? entry : entry.default)).href);
        return (lines, limit) => {
            const storage = new lib.NegentropyStorageVector();
            for (const [ts, id] of lines) storage.insert(ts, id);
            storage.seal();
            const ne = new lib.Negentropy(storage, limit === 0 ? 2 ** 40 : limit);
            const step = (msg) => {
                const have = [], need = [];
                const out = ne.reconcile(toHex(msg), (id) => have.push(id), (id) => need.push(id));
                return { have, need, out: out === null ? null : fromHex(out) };
            };
            return {
                initiate: async () => fromHex(ne.initiate()),
                asInitiator: async (msg) => {
                    const r = step(msg);
                    return { have: r.have, need: r.need, next: r.out };
                },
                // null means "nothing to say": the bare version byte on the wire.
                asResponder: async (msg) => {
                    const r = step(msg);
                    return { reply: r.out || new Uint8Array([0x61]), have: r.have, need: r.need };
                },
            };
        };
    }
    throw new Error(`unknown --impl ${impl}`);
}

const toHex = (u8) => Buffer.from(u8).toString("hex");
const fromHex = (s) => new Uint8Array(Buffer.from(s, "hex"));

function readLines(path) {
    const text = readFileSync(path, "utf8");
    return text.split("\n").filter((l) => l.length > 0);
}

async function run(o) {
    const impl = o.impl || "sync";
    const make = await loadImpl(o.modules, impl);
    const jsLimit = Number(o["js-limit"] || 0), cLimit = Number(o["c-limit"] || 0);
    const ne = make(readLines(join(o.case, "js.txt")).map((l) => {
        const [ts, id] = l.split(" ");
        return [Number(ts), id];
    }), jsLimit);
    const jsInitiates = o.initiator === "js";
    const resultPath = join(o.case, `result_${impl}_${o.initiator}_${jsLimit}_${cLimit}.txt`);
    const childArgs = ["--items", join(o.case, "c.txt"), "--role", jsInitiates ? "responder" : "initiator",
                       "--frame-size-limit", String(cLimit)];
    if (!jsInitiates) childArgs.push("--result", resultPath);
    const child = spawn(o["c-bin"], childArgs, { stdio: ["pipe", "pipe", "inherit"] });
    const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const send = (u8) => child.stdin.write(toHex(u8) + "\n");

    let have = [], need = [], rounds = 0, bytesOut = 0, bytesIn = 0, maxMsg = 0, jsLearned = 0;
    const seeIn = (n) => { bytesIn += n; maxMsg = Math.max(maxMsg, n); };
    const seeOut = (n) => { bytesOut += n; maxMsg = Math.max(maxMsg, n); };
    if (jsInitiates) {
        let msg = await ne.initiate();
        while (msg) {
            rounds++;
            seeOut(msg.length);
            send(msg);
            const line = await lines.next();
            if (line.done) throw new Error("C responder closed its output");
            const reply = fromHex(line.value);
            seeIn(reply.length);
            const r = await ne.asInitiator(reply);
            have.push(...r.have);
            need.push(...r.need);
            msg = r.next;
        }
        child.stdin.end();
    } else {
        for (;;) {
            const line = await lines.next();
            if (line.done) break;                    // the C initiator is done
            const msg = fromHex(line.value);
            rounds++;
            seeIn(msg.length);
            const r = await ne.asResponder(msg);
            jsLearned += r.have.length + r.need.length;
            seeOut(r.reply.length);
            send(r.reply);
        }
        child.stdin.end();
    }
    const code = await exited;
    const refused = !jsInitiates && code === 3;      // the C initiator refused an answer
    if (code !== 0 && !refused) throw new Error(`C side exited with ${code}`);
    if (!jsInitiates && !refused) {
        for (const line of readLines(resultPath)) {
            const [tag, id] = line.split(" ");
            (tag === "have" ? have : need).push(id);
        }
    }
    // The initiator's have = its own side's private items; need = the other side's.
    const expectHave = readLines(join(o.case, jsInitiates ? "js_only.txt" : "c_only.txt"));
    const expectNeed = readLines(join(o.case, jsInitiates ? "c_only.txt" : "js_only.txt"));
    // Compared as sets; repeats are counted separately. Hearth's initiator
    // never repeats an id; the JS initiator can, when a responder's frame
    // limit makes it revisit settled ranges (see docs/sync.md).
    const same = (got, want) => {
        const g = [...new Set(got)].sort();
        return g.length === want.length && g.every((v, i) => v === want[i]);
    };
    const repeats = have.length - new Set(have).size + need.length - new Set(need).size;
    const exact = !refused && same(have, expectHave) && same(need, expectNeed) && (jsInitiates || repeats === 0);
    const pass = exact || (refused && o["allow-refusal"] === "1");
    console.log(JSON.stringify({
        impl, case: o.case, initiator: o.initiator, js_limit: jsLimit, c_limit: cLimit, rounds, refused,
        js_responder_learned: jsLearned,
        js_bytes_out: bytesOut, js_bytes_in: bytesIn, largest_message: maxMsg,
        have: have.length, need: need.length, repeats, expect_have: expectHave.length,
        expect_need: expectNeed.length, exact,
    }));
    return pass ? 0 : 1;
}

const o = args(process.argv.slice(2));
try {
    if (o._ === "gen") { gen(o); process.exit(0); }
    else if (o._ === "run") process.exit(await run(o));
    else { console.error("usage: interop_negentropy.mjs gen|run ..."); process.exit(2); }
} catch (e) {
    console.error(`interop_negentropy.mjs: ${e.stack || e}`);
    process.exit(1);
}
