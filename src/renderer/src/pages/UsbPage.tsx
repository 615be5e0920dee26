import { useEffect, useId, useRef, useState } from 'react'
import type { DeviceSettings, SerialPortInfo } from '../../../shared/contract/serial'
import type { MessageKey } from '../i18n'
import { client, useT } from '../store'
import { adviceFor, BYTE_PHASES, type FieldErrors, type SetupForm, STEPS } from '../usb-form'
import {
  closeMonitor,
  dismissNotice,
  fixPoolAddress,
  isRunning,
  type JobView,
  openMonitor,
  readSettings,
  refreshPorts,
  resetDevice,
  restoreBackup,
  selectCurrentJob,
  selectPort,
  setBench,
  setForm,
  startUsbData,
  togglePaused,
  useUsb,
  writeSettings,
} from '../usb-store'
import './usb.css'

type T = ReturnType<typeof useT>

/**
 * USB setup: ports → live log → read settings → Wi-Fi and pool form → write with progress → the
 * miner's IP. Everything a device or the OS sends (paths, SSIDs, hostnames, log lines) is rendered
 * as React text children, never as markup. Passwords are write-only: their inputs are uncontrolled
 * (no `value` attribute is ever rendered) and what the device holds is shown as "saved on device".
 */
export function UsbPage() {
  const t = useT()
  const selected = useUsb((s) => s.selected)
  const notice = useUsb((s) => s.notice)
  useEffect(() => startUsbData(), [])
  return (
    <section aria-labelledby="usb-title" className="page usb">
      <h1 id="usb-title">{t('usb.title')}</h1>
      <p className="usb-intro">{t('usb.intro')}</p>
      {notice ? (
        <div className={`usb-notice ${notice.tone}`} role="alert" data-testid="usb-notice">
          <p>{t(notice.key, notice.vars)}</p>
          {notice.detail ? <p className="usb-detail">{notice.detail}</p> : null}
          <button type="button" onClick={dismissNotice}>
            {t('usb.notice.dismiss')}
          </button>
        </div>
      ) : null}
      <PortsCard />
      {selected ? <DeviceArea path={selected} /> : <p className="card usb-hint">{t('usb.choose')}</p>}
    </section>
  )
}

const bridgeKey = (p: SerialPortInfo): MessageKey => `usb.bridge.${p.board.bridge}` as MessageKey

function PortsCard() {
  const t = useT()
  const ports = useUsb((s) => s.ports)
  const loaded = useUsb((s) => s.portsLoaded)
  const selected = useUsb((s) => s.selected)
  return (
    <section className="card" aria-labelledby="usb-ports-h">
      <div className="usb-head">
        <h2 id="usb-ports-h">{t('usb.ports.title')}</h2>
        <button type="button" onClick={() => void refreshPorts()}>
          {t('usb.ports.refresh')}
        </button>
      </div>
      {!loaded ? <p>{t('usb.ports.loading')}</p> : null}
      {loaded && ports.length === 0 ? <p data-testid="usb-no-ports">{t('usb.ports.empty')}</p> : null}
      {ports.length > 0 ? (
        <table className="usb-ports" data-testid="usb-ports">
          <thead>
            <tr>
              <th scope="col">{t('usb.col.port')}</th>
              <th scope="col">{t('usb.col.board')}</th>
              <th scope="col">{t('usb.col.usb')}</th>
              <th scope="col">{t('usb.col.state')}</th>
              <th scope="col">{t('usb.col.mac')}</th>
              <th scope="col">{t('usb.col.ip')}</th>
              <th scope="col">{t('usb.col.action')}</th>
            </tr>
          </thead>
          <tbody>
            {ports.map((p) => (
              <tr key={p.path} data-testid="usb-port-row" className={p.path === selected ? 'sel' : undefined}>
                <td className="mono">{p.path}</td>
                <td>
                  {t(bridgeKey(p))}
                  {p.manufacturer ? <span className="muted"> · {p.manufacturer}</span> : null}
                </td>
                <td className="mono">
                  {p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : '—'}
                  {p.serialNumber ? <span className="muted"> {p.serialNumber}</span> : null}
                </td>
                <td>{t(`usb.port.state.${p.monitor}`)}</td>
                <td className="mono">{p.mac ?? '—'}</td>
                <td className="mono">{p.lastIp ?? '—'}</td>
                <td>
                  <button type="button" aria-pressed={p.path === selected} onClick={() => void selectPort(p.path)}>
                    {p.path === selected ? t('usb.selected') : t('usb.select')}
                    <span className="sr-only"> {p.path}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  )
}

function DeviceArea({ path }: { path: string }) {
  return (
    <>
      <div className="usb-grid">
        <MonitorCard path={path} />
        <SettingsCard path={path} />
      </div>
      <FormCard path={path} />
      <BackupsCard path={path} />
    </>
  )
}

function MonitorCard({ path }: { path: string }) {
  const t = useT()
  const lines = useUsb((s) => s.lines[path])
  const paused = useUsb((s) => s.paused)
  const port = useUsb((s) => s.ports.find((p) => p.path === path))
  const logRef = useRef<HTMLDivElement>(null)
  const headingId = useId()
  useEffect(() => {
    const el = logRef.current
    if (el && !paused && lines) el.scrollTop = el.scrollHeight
  }, [lines, paused])
  const open = port?.monitor === 'open' || port?.monitor === 'busy'
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{t('usb.log.title', { path })}</h2>
      <div className="usb-tools">
        <button type="button" onClick={() => void resetDevice(path)} disabled={port?.monitor === 'busy'}>
          {t('usb.log.reset')}
        </button>
        <button type="button" aria-pressed={paused} onClick={togglePaused}>
          {paused ? t('usb.log.resume') : t('usb.log.pause')}
        </button>
        {open ? (
          <button type="button" onClick={() => void closeMonitor(path)} disabled={port?.monitor === 'busy'}>
            {t('usb.log.close')}
          </button>
        ) : (
          <button type="button" onClick={() => void openMonitor(path)} disabled={!port}>
            {t('usb.log.open')}
          </button>
        )}
      </div>
      <div
        className="usb-log mono"
        role="log"
        aria-live="off"
        aria-label={t('usb.log.label', { path })}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must be reachable by keyboard (WCAG 2.1.1).
        tabIndex={0}
        ref={logRef}
        data-testid="usb-log"
      >
        {!lines || lines.length === 0 ? <p className="muted">{t('usb.log.empty')}</p> : null}
        {lines?.map((l) =>
          l.kind === 'state' ? (
            <div key={l.seq} className="usb-line state">
              — {t(`usb.log.state.${l.state}`)}
            </div>
          ) : (
            <div key={l.seq} className={`usb-line${l.event ? ` ev ev-${l.event.kind}` : ''}`}>
              {l.event ? <span className="usb-tag">{t(`usb.ev.${l.event.kind}`)}</span> : null}
              {l.text}
            </div>
          ),
        )}
      </div>
    </section>
  )
}

function SettingsCard({ path }: { path: string }) {
  const t = useT()
  const settings = useUsb((s) => s.settings[path])
  const job = useUsb((s) => selectCurrentJob(s, path))
  const filled = useUsb((s) => s.formFilledFrom === path)
  const stale = useUsb((s) => s.settingsStale[path] === true)
  const busy = isRunning(job)
  return (
    <section className="card" aria-labelledby="usb-settings-h">
      <div className="usb-head">
        <h2 id="usb-settings-h">{t('usb.settings.title')}</h2>
        <button type="button" onClick={() => void readSettings(path)} disabled={busy}>
          {t('usb.settings.read')}
        </button>
      </div>
      {job?.op === 'read' ? <JobProgress job={job} /> : null}
      {settings && stale ? (
        <p className="warning" data-testid="usb-settings-stale">
          {t('usb.settings.stale')}
        </p>
      ) : null}
      {settings ? <SettingsList s={settings} t={t} /> : <p className="muted">{t('usb.settings.none')}</p>}
      {settings && filled ? <p className="usb-note">{t('usb.settings.filled')}</p> : null}
    </section>
  )
}

function SettingsList({ s, t }: { s: DeviceSettings; t: T }) {
  const pw = (has: boolean) => <span className="usb-pw">{has ? t('usb.saved') : t('usb.notSaved')}</span>
  return (
    <>
      <dl className="kv" data-testid="usb-settings">
        <dt>{t('usb.settings.chip')}</dt>
        <dd>{s.chip}</dd>
        <dt>{t('usb.settings.mac')}</dt>
        <dd className="mono">{s.mac}</dd>
        <dt>{t('usb.settings.hostname')}</dt>
        <dd>{s.hostname ?? '—'}</dd>
        <dt>{t('usb.settings.ssid')}</dt>
        <dd>
          {s.wifi.ssid ?? '—'} · {pw(s.wifi.hasPassword)}
        </dd>
        {s.pools.map((p) => (
          <PoolRow key={`${p.role}-${p.slot ?? ''}-${p.url}`} p={p} t={t} pw={pw} />
        ))}
        <dt>{t('usb.settings.asic')}</dt>
        <dd>{s.asicModel ?? '—'}</dd>
        <dt>{t('usb.settings.device')}</dt>
        <dd>{s.deviceModel ?? '—'}</dd>
        <dt>{t('usb.settings.freq')}</dt>
        <dd>{s.frequencyMhz !== undefined ? `${s.frequencyMhz} MHz` : '—'}</dd>
        <dt>{t('usb.settings.voltage')}</dt>
        <dd>{s.coreVoltageMv !== undefined ? `${s.coreVoltageMv} mV` : '—'}</dd>
        <dt>{t('usb.settings.board')}</dt>
        <dd>{s.boardVersion ?? '—'}</dd>
        <dt>{t('usb.settings.layout')}</dt>
        <dd data-testid="usb-layout">{t(`usb.layout.${s.layout}`)}</dd>
        <dt>{t('usb.settings.backup')}</dt>
        <dd className="mono">{s.backupId}</dd>
      </dl>
      {s.warnings.map((w) => (
        <p key={w} className="warning">
          {w}
        </p>
      ))}
    </>
  )
}

function PoolRow({ p, t, pw }: { p: DeviceSettings['pools'][number]; t: T; pw: (has: boolean) => React.ReactNode }) {
  return (
    <>
      <dt>
        {t(`usb.settings.pool.${p.role}`)}
        {p.slot !== undefined ? ` (${p.slot})` : ''}
      </dt>
      <dd>
        <span className="mono">{p.port !== undefined ? `${p.url}:${p.port}` : p.url}</span>
        <br />
        {t('usb.settings.user', { user: p.user })} · {pw(p.hasPassword)}
      </dd>
    </>
  )
}

/** A write-only input: no `value` prop, so React never writes the secret into a DOM attribute. */
function SecretInput({
  id,
  value,
  onChange,
  describedBy,
  invalid,
}: {
  id: string
  value: string
  onChange: (v: string) => void
  describedBy: string
  invalid: boolean
}) {
  const ref = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (ref.current && ref.current.value !== value) ref.current.value = value
  }, [value])
  return (
    <input
      id={id}
      ref={ref}
      type="password"
      autoComplete="new-password"
      spellCheck={false}
      aria-describedby={describedBy}
      aria-invalid={invalid || undefined}
      onChange={(e) => onChange(e.target.value)}
    />
  )
}

function FieldError({ id, errors, field, t }: { id: string; errors: FieldErrors; field: keyof FieldErrors; t: T }) {
  const key = errors[field]
  return key ? (
    <p id={id} className="usb-err">
      {t(key)}
    </p>
  ) : null
}

function FormCard({ path }: { path: string }) {
  const t = useT()
  const form = useUsb((s) => s.form)
  const errors = useUsb((s) => s.formErrors)
  const settings = useUsb((s) => s.settings[path])
  const poolFixed = useUsb((s) => s.poolFixed)
  const bench = useUsb((s) => s.bench)
  const job = useUsb((s) => selectCurrentJob(s, path))
  const busy = isRunning(job)
  const primary = settings?.pools.find((p) => p.role === 'primary')
  const field = (k: keyof SetupForm) => ({
    id: `usb-${k}`,
    value: form[k],
    'aria-invalid': errors[k] ? true : undefined,
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => setForm({ [k]: e.target.value }),
  })
  return (
    <section className="card wide" aria-labelledby="usb-form-h">
      <h2 id="usb-form-h">{t('usb.form.title')}</h2>
      <form
        className="usb-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault()
          void writeSettings(path)
        }}
      >
        <fieldset>
          <legend>{t('usb.form.wifi')}</legend>
          <div className="usb-row">
            <label htmlFor="usb-ssid">{t('usb.form.ssid')}</label>
            <div>
              <input {...field('ssid')} aria-describedby="usb-ssid-err" maxLength={32} autoComplete="off" />
              <FieldError id="usb-ssid-err" errors={errors} field="ssid" t={t} />
            </div>
          </div>
          <div className="usb-row">
            <label htmlFor="usb-wifiPassword">{t('usb.form.wifiPassword')}</label>
            <div>
              <SecretInput
                id="usb-wifiPassword"
                value={form.wifiPassword}
                onChange={(v) => setForm({ wifiPassword: v })}
                describedBy="usb-wifiPassword-hint usb-wifiPassword-err"
                invalid={!!errors.wifiPassword}
              />
              <p id="usb-wifiPassword-hint" className="usb-hint-text">
                {settings?.wifi.hasPassword
                  ? `${t('usb.saved')}. ${t('usb.form.passwordKeep')}`
                  : t('usb.form.passwordNote')}
              </p>
              <FieldError id="usb-wifiPassword-err" errors={errors} field="wifiPassword" t={t} />
            </div>
          </div>
        </fieldset>
        <fieldset>
          <legend>{t('usb.form.target')}</legend>
          <TargetChoice />
          <div className="usb-row">
            <label htmlFor="usb-poolUrl">{t('usb.form.poolUrl')}</label>
            <div>
              <input
                {...field('poolUrl')}
                onBlur={fixPoolAddress}
                aria-describedby="usb-poolUrl-hint usb-poolUrl-err"
                placeholder="stratum+tcp://192.168.1.20:3333"
                autoComplete="off"
                spellCheck={false}
              />
              <p id="usb-poolUrl-hint" className="usb-hint-text">
                {poolFixed ? t('usb.form.poolFixed') : t('usb.form.poolUrlHint')}
              </p>
              <FieldError id="usb-poolUrl-err" errors={errors} field="poolUrl" t={t} />
            </div>
          </div>
          <div className="usb-row">
            <label htmlFor="usb-poolPort">{t('usb.form.poolPort')}</label>
            <div>
              <input {...field('poolPort')} inputMode="numeric" size={6} aria-describedby="usb-poolPort-err" />
              <FieldError id="usb-poolPort-err" errors={errors} field="poolPort" t={t} />
            </div>
          </div>
          <div className="usb-row">
            <label htmlFor="usb-poolUser">{t('usb.form.poolUser')}</label>
            <div>
              <input {...field('poolUser')} aria-describedby="usb-poolUser-err" autoComplete="off" spellCheck={false} />
              <FieldError id="usb-poolUser-err" errors={errors} field="poolUser" t={t} />
            </div>
          </div>
          <div className="usb-row">
            <label htmlFor="usb-poolPassword">{t('usb.form.poolPassword')}</label>
            <div>
              <SecretInput
                id="usb-poolPassword"
                value={form.poolPassword}
                onChange={(v) => setForm({ poolPassword: v })}
                describedBy="usb-poolPassword-hint"
                invalid={false}
              />
              <p id="usb-poolPassword-hint" className="usb-hint-text">
                {primary?.hasPassword ? `${t('usb.saved')}. ${t('usb.form.passwordKeep')}` : t('usb.form.passwordNote')}
              </p>
            </div>
          </div>
          <div className="usb-row">
            <label htmlFor="usb-workerName">{t('usb.form.worker')}</label>
            <div>
              <input
                {...field('workerName')}
                aria-describedby="usb-workerName-hint usb-workerName-err"
                maxLength={32}
                autoComplete="off"
                spellCheck={false}
              />
              <p id="usb-workerName-hint" className="usb-hint-text">
                {t('usb.form.workerHint')}
              </p>
              <FieldError id="usb-workerName-err" errors={errors} field="workerName" t={t} />
            </div>
          </div>
        </fieldset>
        <div className="usb-actions">
          <label className="usb-check">
            <input type="checkbox" checked={bench} onChange={(e) => setBench(e.target.checked)} />
            {t('usb.form.bench')}
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {t('usb.form.write')}
          </button>
        </div>
        <FieldError id="usb-form-err" errors={errors} field="form" t={t} />
        <BenchStatus />
      </form>
      {job && job.op !== 'read' ? <JobProgress job={job} /> : null}
    </section>
  )
}

function BenchStatus() {
  const t = useT()
  const bench = useUsb((s) => s.bench)
  const known = useUsb((s) => s.benchKnown)
  const worker = useUsb((s) => s.form.workerName)
  const log = useUsb((s) => s.benchLog)
  const jobs = useUsb((s) => s.jobs)
  if (!bench && log.length === 0) return null
  return (
    <div className="usb-bench" data-testid="usb-bench">
      {bench ? (
        <p role="status">
          {known
            ? worker
              ? t('usb.bench.waiting', { worker })
              : t('usb.bench.waitingNoWorker')
            : t('usb.bench.armed')}
        </p>
      ) : null}
      {bench ? <p className="usb-hint-text">{t('usb.bench.keepPasswords')}</p> : null}
      {log.length > 0 ? (
        <table>
          <caption>{t('usb.bench.log')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('usb.col.port')}</th>
              <th scope="col">{t('usb.col.worker')}</th>
              <th scope="col">{t('usb.col.mac')}</th>
              <th scope="col">{t('usb.col.result')}</th>
            </tr>
          </thead>
          <tbody>
            {log.map((b) => {
              const j = jobs[b.jobId]
              return (
                <tr key={b.jobId} data-testid="usb-bench-row">
                  <td className="mono">{b.path}</td>
                  <td>{b.workerName ?? '—'}</td>
                  <td className="mono">{b.mac ?? '—'}</td>
                  <td>{j ? resultText(j, t) : '—'}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      ) : null}
    </div>
  )
}

function resultText(j: JobView, t: T): string {
  if (j.phase === 'online' && j.ip) return t('usb.job.online', { ip: j.ip })
  if (j.phase === 'no-ip') return t('usb.job.noIp')
  if (j.phase === 'failed') return t('usb.job.failed')
  if (j.phase === 'waiting-for-ip') return t('usb.job.waiting')
  return t(`usb.phase.${j.phase}`)
}

function JobProgress({ job }: { job: JobView }) {
  const t = useT()
  const steps = STEPS[job.op]
  const at = steps.findIndex((s) => s.phase === job.phase)
  const finished =
    job.phase === 'done' || job.phase === 'waiting-for-ip' || job.phase === 'online' || job.phase === 'no-ip'
  const failed = job.phase === 'failed'
  const label = t(`usb.job.${job.op}`)
  return (
    <div
      className="usb-job"
      data-testid="usb-progress"
      data-phase={job.phase}
      data-op={job.op}
      data-path={job.path}
      data-fraction={job.fraction}
    >
      <h3>{label}</h3>
      <progress max={1} value={job.fraction} aria-label={label} />
      <ol className="usb-steps">
        {steps.map((s, i) => {
          const state = finished || i < at ? 'done' : i === at && !failed ? 'now' : failed && i === at ? 'bad' : 'todo'
          return (
            <li key={s.phase} className={state}>
              <span aria-hidden="true">
                {state === 'done' ? '✓' : state === 'now' ? '●' : state === 'bad' ? '✕' : '○'}
              </span>{' '}
              {t(`usb.phase.${s.phase}`)}
              <span className="sr-only"> ({t(`usb.step.${state}`)})</span>
            </li>
          )
        })}
      </ol>
      <p role="status" className="usb-phase">
        {failed ? t('usb.job.failed') : finished ? t(`usb.job.done.${job.op}`) : t(`usb.phase.${job.phase}`)}
      </p>
      {BYTE_PHASES.has(job.phase) && job.totalBytes > 0 ? (
        <p className="usb-bytes">{t('usb.job.bytes', { done: job.doneBytes, total: job.totalBytes })}</p>
      ) : null}
      {job.op === 'write' && job.phase === 'waiting-for-ip' ? (
        <p className="usb-wait">
          {t('usb.job.waiting')}
          {job.waitNote ? <span className="usb-detail"> {job.waitNote}</span> : null}
        </p>
      ) : null}
      {job.phase === 'online' && job.ip ? (
        <p className="usb-online" data-testid="usb-ip">
          {t('usb.job.online', { ip: job.ip })}
        </p>
      ) : null}
      {job.phase === 'no-ip' ? (
        <div className="usb-fail" data-testid="usb-noip">
          <p>{t('usb.job.noIp')}</p>
          {job.message ? <p className="usb-detail">{job.message}</p> : null}
        </div>
      ) : null}
      {failed ? <Failure job={job} /> : null}
    </div>
  )
}

function Failure({ job }: { job: JobView }) {
  const t = useT()
  const f = job.failure
  const backupId = f?.backupId
  return (
    <div className="usb-fail" role="alert" data-testid="usb-failure">
      <p>{t(adviceFor(f?.reason, f?.code))}</p>
      {f?.message ? <p className="usb-detail">{f.message}</p> : null}
      {backupId ? (
        <>
          <p>{t('usb.job.backupKept', { id: backupId })}</p>
          <button type="button" onClick={() => void restoreBackup(job.path, backupId)}>
            {t('usb.job.restoreNow')}
          </button>
        </>
      ) : null}
    </div>
  )
}

function BackupsCard({ path }: { path: string }) {
  const t = useT()
  const backups = useUsb((s) => s.backups)
  const mac = useUsb((s) => s.backupsMac)
  const job = useUsb((s) => selectCurrentJob(s, path))
  const [confirm, setConfirm] = useState<string | undefined>()
  const busy = isRunning(job)
  return (
    <section className="card wide" aria-labelledby="usb-backups-h">
      <h2 id="usb-backups-h">{mac ? t('usb.backups.titleMac', { mac }) : t('usb.backups.title')}</h2>
      {!mac ? <p className="muted">{t('usb.backups.unknown')}</p> : null}
      {mac && backups.length === 0 ? <p className="muted">{t('usb.backups.none')}</p> : null}
      {backups.length > 0 ? (
        <table data-testid="usb-backups">
          <thead>
            <tr>
              <th scope="col">{t('usb.col.taken')}</th>
              <th scope="col">{t('usb.col.reason')}</th>
              <th scope="col">{t('usb.col.size')}</th>
              <th scope="col">SHA-256</th>
              <th scope="col">{t('usb.col.action')}</th>
            </tr>
          </thead>
          <tbody>
            {backups.map((b) => {
              const time = new Date(b.takenAtMs).toLocaleString()
              return (
                <tr key={b.id}>
                  <td>{time}</td>
                  <td>{t(`usb.reason.${b.reason}`)}</td>
                  <td>{t('usb.job.bytesOnly', { n: b.sizeBytes })}</td>
                  <td className="mono">{b.sha256.slice(0, 12)}…</td>
                  <td>
                    {confirm === b.id ? (
                      <span className="usb-confirm">
                        {t('usb.backups.confirm', { time, path })}{' '}
                        <button
                          type="button"
                          disabled={busy}
                          onClick={() => {
                            setConfirm(undefined)
                            void restoreBackup(path, b.id)
                          }}
                        >
                          {t('usb.backups.confirmYes')}
                        </button>{' '}
                        <button type="button" onClick={() => setConfirm(undefined)}>
                          {t('usb.backups.cancel')}
                        </button>
                      </span>
                    ) : (
                      <button type="button" disabled={busy} onClick={() => setConfirm(b.id)}>
                        {t('usb.backups.restore')}
                      </button>
                    )}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  )
}

/**
 * Where the miner will mine: any pool (typed below), or Hashyard's own local pool or proxy, offered
 * with this computer's LAN address (never localhost or a .local name a miner cannot resolve).
 */
function TargetChoice() {
  const t = useT()
  const [target, setTarget] = useState<'pool' | 'local' | 'proxy'>('pool')
  const [avail, setAvail] = useState<{ local?: number; proxy?: number; payout?: string | null }>({})
  const [note, setNote] = useState('')
  useEffect(() => {
    void Promise.allSettled([
      client.call('pool.status', {}),
      client.call('pool.getSettings', {}),
      client.call('proxy.status', {}),
      client.call('proxy.getSettings', {}),
    ]).then(([ps, pset, xs, xset]) => {
      const next: { local?: number; proxy?: number; payout?: string | null } = {}
      if (ps.status === 'fulfilled' && ps.value.running && pset.status === 'fulfilled') {
        next.local = pset.value.port
        next.payout = pset.value.payoutAddress
      }
      if (xs.status === 'fulfilled' && xs.value.running && xset.status === 'fulfilled') next.proxy = xset.value.port
      setAvail(next)
    })
  }, [])
  const choose = (which: 'pool' | 'local' | 'proxy'): void => {
    setTarget(which)
    setNote('')
    if (which === 'pool') return
    const port = which === 'local' ? avail.local : avail.proxy
    if (port === undefined) return
    client.call('devices.appPoolUrls', { port }).then(
      (r) => {
        const first = r.urls[0]
        if (!first) {
          setNote(t('usb.target.noLan'))
          return
        }
        setForm({
          poolUrl: first.address,
          poolPort: String(port),
          poolUser: which === 'local' ? (avail.payout ?? 'hashyard') : 'hashyard',
        })
        setNote(t('usb.target.using', { url: first.url }))
      },
      (e: unknown) => setNote(e instanceof Error ? e.message : String(e)),
    )
  }
  return (
    <div className="usb-targets">
      {(['pool', 'local', 'proxy'] as const).map((which) => {
        // A pool typed by hand is always possible; Hashyard's own only while it runs.
        const off = which !== 'pool' && avail[which] === undefined
        return (
          <label key={which} className={off ? 'usb-off' : ''}>
            <input
              type="radio"
              name="usb-target"
              value={which}
              checked={target === which}
              disabled={off}
              onChange={() => choose(which)}
            />
            {t(`usb.target.${which}`)}
            {off ? ` — ${t('usb.target.notRunning')}` : ''}
          </label>
        )
      })}
      <p role="status" aria-live="polite" data-testid="usb-target-note">
        {note}
      </p>
    </div>
  )
}
