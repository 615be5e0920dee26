import { useCallback, useEffect, useState } from 'react'
import type { MethodOutput } from '../../../shared/contract'
import type { AlertRecord, AlertRuleSchema } from '../../../shared/contract/health'
import { client, useT } from '../store'

type Rule = import('zod').infer<typeof AlertRuleSchema>
type Channel = MethodOutput<'alertChannels.list'>['channels'][number]
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

function notifyOs(a: AlertRecord): void {
  // Browser and desktop notifications, only when the owner allowed them for this page.
  if (typeof Notification !== 'undefined' && Notification.permission === 'granted')
    new Notification(a.title, { body: a.message })
}

function ChannelForm({ onSaved }: { onSaved(): void }) {
  const t = useT()
  const [kind, setKind] = useState<'webhook' | 'telegram' | 'discord'>('webhook')
  const [name, setName] = useState('')
  const [url, setUrl] = useState('')
  const [chatId, setChatId] = useState('')
  const [secret, setSecret] = useState('')
  const [note, setNote] = useState('')
  const save = (): void => {
    const base = { name: name.trim() || kind, enabled: true, dailySummary: false }
    const channel =
      kind === 'webhook'
        ? { ...base, kind, url: url.trim() }
        : kind === 'telegram'
          ? { ...base, kind, chatId: chatId.trim() }
          : { ...base, kind }
    const secrets =
      kind === 'webhook'
        ? secret
          ? { secret }
          : undefined
        : kind === 'telegram'
          ? { botToken: secret }
          : { webhookUrl: secret }
    client.call('alertChannels.save', { channel, ...(secrets ? { secrets } : {}) }).then(
      () => {
        setNote(t('settings.saved'))
        setSecret('')
        onSaved()
      },
      (e: unknown) => setNote(t('settings.failed', { message: errText(e) })),
    )
  }
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault()
        save()
      }}
    >
      <h3>{t('alerts.channels.add')}</h3>
      <div className="field">
        <label htmlFor="ch-kind">{t('alerts.channels.kind')}</label>
        <select id="ch-kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
          <option value="webhook">Webhook</option>
          <option value="telegram">Telegram</option>
          <option value="discord">Discord</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="ch-name">{t('alerts.channels.name')}</label>
        <input id="ch-name" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      {kind === 'webhook' ? (
        <div className="field">
          <label htmlFor="ch-url">{t('alerts.channels.url')}</label>
          <input id="ch-url" value={url} onChange={(e) => setUrl(e.target.value)} size={40} />
        </div>
      ) : null}
      {kind === 'telegram' ? (
        <div className="field">
          <label htmlFor="ch-chat">{t('alerts.channels.chatId')}</label>
          <input id="ch-chat" value={chatId} onChange={(e) => setChatId(e.target.value)} />
        </div>
      ) : null}
      <div className="field">
        <label htmlFor="ch-secret">{t(`alerts.channels.secret.${kind}`)}</label>
        <input
          id="ch-secret"
          type="password"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          autoComplete="off"
        />
      </div>
      <button type="submit">{t('alerts.channels.save')}</button>
      <p role="status" aria-live="polite">
        {note}
      </p>
    </form>
  )
}

export function AlertsPage() {
  const t = useT()
  const [alerts, setAlerts] = useState<AlertRecord[]>([])
  const [rules, setRules] = useState<Rule[]>([])
  const [channels, setChannels] = useState<Channel[]>([])
  const [note, setNote] = useState('')
  const refresh = useCallback((): void => {
    client.call('alerts.list', { limit: 200 }).then(
      (r) => setAlerts(r.alerts),
      (e: unknown) => setNote(errText(e)),
    )
    client.call('alertRules.list', {}).then(
      (r) => setRules(r.rules),
      (e: unknown) => setNote(errText(e)),
    )
    client.call('alertChannels.list', {}).then(
      (r) => setChannels(r.channels),
      (e: unknown) => setNote(errText(e)),
    )
  }, [])
  useEffect(() => {
    refresh()
    return client.listen(
      'alerts.stream',
      {},
      {
        frame: (f) => {
          if ('alert' in f && f.alert && (f as { notify?: boolean }).notify) notifyOs(f.alert as AlertRecord)
          refresh()
        },
        resync: refresh,
      },
    )
  }, [refresh])
  const toggleRule = (r: Rule): void => {
    client
      .call('alertRules.save', { rule: { ...r, enabled: !r.enabled } as never })
      .then(refresh, (e: unknown) => setNote(errText(e)))
  }
  const testChannel = (id: string): void => {
    setNote(t('alerts.channels.testing'))
    client.call('alertChannels.test', { id }).then(
      (r) => setNote(r.message),
      (e: unknown) => setNote(errText(e)),
    )
  }
  return (
    <section aria-labelledby="alerts-title" className="page">
      <h1 id="alerts-title">{t('nav.alerts')}</h1>
      <p role="status" aria-live="polite" data-testid="alerts-note">
        {note}
      </p>
      <section className="card" aria-labelledby="alert-centre-h">
        <h2 id="alert-centre-h">{t('alerts.centre')}</h2>
        {typeof Notification !== 'undefined' && Notification.permission === 'default' ? (
          <button type="button" onClick={() => void Notification.requestPermission()}>
            {t('alerts.notify.enable')}
          </button>
        ) : null}{' '}
        <button type="button" onClick={() => client.call('alerts.acknowledgeAll', {}).then(refresh, () => {})}>
          {t('alerts.ackAll')}
        </button>
        {alerts.length === 0 ? (
          <p>{t('alerts.none')}</p>
        ) : (
          <table data-testid="alert-list">
            <thead>
              <tr>
                <th scope="col">{t('system.events.time')}</th>
                <th scope="col">{t('alerts.severity')}</th>
                <th scope="col">{t('alerts.what')}</th>
                <th scope="col">{t('alerts.state')}</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr key={a.id} className={a.recoveredAtMs || a.instant ? '' : 'st-attention'}>
                  <td className="mono">{new Date(a.firedAtMs).toLocaleString()}</td>
                  <td>{t(`alerts.severity.${a.severity}`)}</td>
                  <td>
                    <strong>{a.title}</strong> — {a.message}
                  </td>
                  <td>
                    {a.instant ? '' : a.recoveredAtMs ? t('alerts.recovered') : t('alerts.open')}
                    {a.ackedAtMs ? ` · ${t('alerts.seen')}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <div className="cards" style={{ marginTop: 16 }}>
        <section className="card" aria-labelledby="rules-h">
          <h2 id="rules-h">{t('alerts.rules')}</h2>
          <ul className="plain" data-testid="alert-rules">
            {rules.map((r) => (
              <li key={r.id}>
                <label>
                  <input type="checkbox" checked={r.enabled} onChange={() => toggleRule(r)} />{' '}
                  {t(`alerts.rule.${r.type}`)}
                  <span className="muted"> ({t(`alerts.scope.${r.scope.kind}`)})</span>
                </label>
              </li>
            ))}
          </ul>
        </section>
        <section className="card" aria-labelledby="channels-h">
          <h2 id="channels-h">{t('alerts.channels')}</h2>
          <ul className="plain" data-testid="alert-channels">
            {channels.map((c) => (
              <li key={c.id}>
                {c.name} <span className="muted">({c.kind})</span>{' '}
                <button type="button" onClick={() => testChannel(c.id)}>
                  {t('alerts.channels.test')}
                </button>
              </li>
            ))}
          </ul>
          <ChannelForm onSaved={refresh} />
        </section>
      </div>
    </section>
  )
}
