import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.js'
import {
  AUDIT_LOG_EVENT_NAME,
  createAuditLog,
  fileSink,
  functionSink,
  hashToken,
  otelLogsSink,
  stdoutSink,
  type AuditRecord,
} from '../../src/audit/index.js'
import { decisionRecord } from './fixtures.js'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('stream sink', () => {
  it('writes one JSON line per record', async () => {
    const stream = new PassThrough()
    const chunks: string[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')))
    const log = createAuditLog({ sinks: [stdoutSink({ stream })] })
    const a = decisionRecord()
    const b = decisionRecord({ outcome: 'denied', effect: 'EFFECT_DENY', reason: 'denied' })
    log.record(a)
    log.record(b)
    await log.flush()
    const lines = chunks.join('').split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((line) => JSON.parse(line) as AuditRecord)).toEqual([a, b])
  })

  it('reports a destroyed stream as a sink failure', async () => {
    const stream = new PassThrough()
    stream.destroy()
    const log = createAuditLog({ sinks: [stdoutSink({ stream })] })
    log.record(decisionRecord())
    await log.flush()
    expect(log.health().failingSinks).toEqual(['stream'])
  })
})

describe('file sink', () => {
  it('appends JSON lines across batches and reopens after close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mg-audit-'))
    dirs.push(dir)
    const path = join(dir, 'audit.log')
    const first = createAuditLog({ sinks: [fileSink({ path })], batchSize: 2 })
    const records = Array.from({ length: 5 }, () => decisionRecord())
    for (const record of records) first.record(record)
    await first.close()
    const second = createAuditLog({ sinks: [fileSink({ path })] })
    const last = decisionRecord()
    second.record(last)
    await second.close()
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
    expect(lines.map((line) => (JSON.parse(line) as AuditRecord).callId)).toEqual(
      [...records, last].map((r) => r.callId),
    )
  })

  it('starts on a new line after a line torn by a crash, so the torn fragment swallows no record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mg-audit-'))
    dirs.push(dir)
    const path = join(dir, 'audit.log')
    const before = decisionRecord()
    await writeFile(path, `${JSON.stringify(before)}\n{"kind":"decision","callId":"torn`)
    const log = createAuditLog({ sinks: [fileSink({ path })] })
    const after = [decisionRecord(), decisionRecord()]
    after.forEach((r) => log.record(r))
    await log.close()
    const lines = (await readFile(path, 'utf8')).split('\n')
    expect(lines).toHaveLength(5)
    expect(lines[1]).toBe('{"kind":"decision","callId":"torn')
    expect([lines[0], lines[2], lines[3]].map((line) => (JSON.parse(line ?? '') as AuditRecord).callId)).toEqual(
      [before, ...after].map((r) => r.callId),
    )
    expect(lines[4]).toBe('')
  })

  it('fails (without throwing into record) when the file cannot be opened', async () => {
    const log = createAuditLog({ sinks: [fileSink({ path: '/nonexistent-dir/mg/audit.log' })], failClosed: true })
    expect(log.record(decisionRecord())).toBe(true)
    await log.flush()
    expect(log.canWrite()).toBe(false)
  })

  it('rejects an empty path', () => {
    expect(() => fileSink({ path: '' })).toThrow(ConfigError)
  })
})

describe('function sink', () => {
  it('calls the function once per record, in order, awaiting async work', async () => {
    const seen: string[] = []
    const log = createAuditLog({
      sinks: [
        functionSink(async (record) => {
          await new Promise((resolve) => setImmediate(resolve))
          seen.push(record.callId)
        }),
      ],
    })
    const records = [decisionRecord(), decisionRecord()]
    records.forEach((r) => log.record(r))
    await log.flush()
    expect(seen).toEqual(records.map((r) => r.callId))
  })
})

describe('OpenTelemetry logs sink', () => {
  it('emits one log record per audit record with severity and indexed attributes', async () => {
    const exporter = new InMemoryLogRecordExporter()
    const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor(exporter)] })
    const log = createAuditLog({ sinks: [otelLogsSink({ loggerProvider })] })
    const allowed = decisionRecord()
    const denied = decisionRecord({ outcome: 'denied', effect: 'EFFECT_DENY', reason: 'denied' })
    log.record(allowed)
    log.record(denied)
    await log.flush()
    const emitted = exporter.getFinishedLogRecords()
    expect(emitted).toHaveLength(2)
    expect(emitted[0]?.eventName).toBe(AUDIT_LOG_EVENT_NAME)
    expect(emitted[0]?.severityText).toBe('INFO')
    expect(emitted[1]?.severityText).toBe('WARN')
    expect(emitted[1]?.attributes).toMatchObject({
      'authz.call_id': denied.callId,
      'authz.outcome': 'denied',
      'authz.reason': 'denied',
      'authz.resource.kind': 'review',
    })
    expect(emitted[1]?.body).toEqual(denied)
    expect(emitted[0]?.instrumentationScope.name).toBe('@meshguard/core')
    await loggerProvider.shutdown()
  })

  it('uses the global provider from @opentelemetry/api-logs when none is injected (no-op without an SDK)', async () => {
    const log = createAuditLog({ sinks: [otelLogsSink()] })
    log.record(decisionRecord())
    await log.flush()
    expect(log.stats()).toMatchObject({ written: 1, failedRecords: 0 })
  })
})

describe('hashToken', () => {
  it('gives a stable sha256 digest that does not contain the token', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.sig'
    const digest = hashToken(token)
    expect(digest).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/)
    expect(digest).toBe(hashToken(token))
    expect(digest).not.toBe(hashToken(`${token}x`))
    expect(digest).not.toContain('eyJ')
  })
})
