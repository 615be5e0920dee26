// Generates the reference part of docs/api.md from the contract, so the doc cannot drift:
// test/contract.test.ts fails when docs/api.md differs from what this prints.
// Run: npx tsx scripts/api-doc.ts > docs/api.md
import { z } from 'zod'
import { contract } from '../src/shared/contract'
import type { MethodSpec, TopicSpec } from '../src/shared/contract-kit'

const INTRO = `# Hashyard API

One contract serves three transports: Electron IPC (the desktop window), WebSocket (\`/rpc\` on the
headless server, used by the browser UI) and HTTP JSON (\`POST /api/<method>\`, for scripts and
\`curl\`). The contract lives in \`src/shared/contract/\` (zod schemas); every input is validated in the
core before a handler runs. This file's reference section is generated from it
(\`npx tsx scripts/api-doc.ts > docs/api.md\`); a test fails when they differ.

## Conventions

- Methods are named \`noun.verb\`; streams (topics) \`noun.stream\`.
- Errors are \`{ "code", "message", "details"? }\` with stable codes:
  \`BAD_REQUEST\` (400), \`INVALID_PARAMS\` (400), \`UNKNOWN_METHOD\` (404), \`UNKNOWN_TOPIC\`, \`NOT_FOUND\` (404),
  \`CONFLICT\` (409), \`UNAUTHORIZED\` (401), \`FORBIDDEN\` (403), \`NOT_SUPPORTED\` (501), \`UNAVAILABLE\` (503),
  \`TIMEOUT\` (504), \`CORE_DOWN\` (503), \`INTERNAL\` (500). Stacks never leave the core; they go to its log.
- Objects are strict: an unknown key is \`INVALID_PARAMS\`, so a typo is never silently ignored.
- Secrets (device, pool, Wi-Fi passwords, tokens) are write-only: responses carry \`hasPassword\`-style flags.

## HTTP JSON

\`\`\`sh
curl -s -X POST http://127.0.0.1:8080/api/system.status -d '{}'
\`\`\`

- \`200\` with the result as the body; otherwise the status above and \`{ "error": { … } }\`.
- An empty body counts as \`{}\`. Bodies over 1 MiB are refused.
- When the server listens on a non-loopback address, send \`Authorization: Bearer <token>\` (the token is
  in the data folder, file \`access-token\`; it is printed once, on first run).
- The \`Host\` header must name the server (DNS-rebinding guard) and a browser's \`Origin\` must be the
  server itself.

## WebSocket (\`/rpc\`) and IPC envelope

The server speaks first: \`{"t":"hello","protocol":1,"server":{…}}\`. Then the client sends

| message | meaning |
|---|---|
| \`{"t":"call","id":1,"m":"system.ping","p":{}}\` | call a method; answered by \`{"t":"ok","id":1,"v":…}\` or \`{"t":"err","id":1,"e":{code,message}}\` |
| \`{"t":"sub","id":2,"topic":"system.stream","p":{}}\` | subscribe; frames arrive as \`{"t":"frame","id":2,"seq":1,"v":…}\` |
| \`{"t":"unsub","id":2}\` | stop a subscription |

Frame \`seq\` numbers start at 1 and increase by exactly 1 per subscription. Two delivery kinds:

- **latest** (state): the server coalesces changes and sends at most one frame per 250 ms; a slow client
  gets the newest state, never a backlog.
- **ordered** (events): every frame, in order, replayable from \`sinceSeq\` while the server's ring holds it.
  When it cannot deliver every frame (history gone, or the client fell more than 1 MiB behind) it sends
  \`{"t":"resync","id":…}\`: refetch with the matching \`*.list\` method; the subscription continues from \`seq\` 1.

\`{"t":"down","reason":…}\` (desktop only) says the core process stopped and is being restarted; pending calls fail with \`CORE_DOWN\`.

With \`websocat\`: \`echo '{"t":"call","id":1,"m":"system.ping","p":{}}' | websocat ws://127.0.0.1:8080/rpc\`.

## Reference
`

function schemaText(s: z.ZodType): string {
  try {
    const j = z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>
    delete j.$schema
    return JSON.stringify(j, null, 1).replace(/\n\s*/g, ' ')
  } catch {
    return '(see src/shared/contract)'
  }
}

function example(s: z.ZodType): string {
  const j = z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' }) as {
    required?: string[]
    properties?: Record<string, { type?: string; enum?: unknown[]; default?: unknown }>
  }
  const out: Record<string, unknown> = {}
  for (const k of j.required ?? []) {
    const p = j.properties?.[k]
    out[k] =
      p?.enum?.[0] ??
      (p?.type === 'number' || p?.type === 'integer'
        ? 1
        : p?.type === 'boolean'
          ? true
          : p?.type === 'array'
            ? []
            : p?.type === 'object'
              ? {}
              : '…')
  }
  return JSON.stringify(out)
}

const lines: string[] = [INTRO]
const entries = Object.entries(contract) as Array<[string, MethodSpec | TopicSpec]>
const groups = new Map<string, Array<[string, MethodSpec | TopicSpec]>>()
for (const e of entries) {
  const g = e[0].split('.')[0] ?? ''
  groups.set(g, [...(groups.get(g) ?? []), e])
}
for (const [group, list] of groups) {
  lines.push(`### ${group}\n`)
  for (const [name, spec] of list) {
    if (spec.kind === 'method') {
      lines.push(`#### \`${name}\` (method)\n`)
      lines.push(`${spec.summary}\n`)
      lines.push(`- params: \`${schemaText(spec.input)}\``)
      lines.push(`- result: \`${schemaText(spec.output)}\`\n`)
      lines.push('```sh')
      lines.push(`curl -s -X POST http://127.0.0.1:8080/api/${name} -d '${example(spec.input)}'`)
      lines.push('```\n')
    } else {
      lines.push(`#### \`${name}\` (topic, ${spec.delivery})\n`)
      lines.push(`${spec.summary}\n`)
      lines.push(`- params: \`${schemaText(spec.params)}\``)
      lines.push(`- frame: \`${schemaText(spec.frame)}\``)
      lines.push(`- subscribe: \`{"t":"sub","id":1,"topic":"${name}","p":${example(spec.params)}}\`\n`)
    }
  }
}
process.stdout.write(`${lines.join('\n').trimEnd()}\n`)
