import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  app,
  BrowserWindow,
  ipcMain,
  Menu,
  nativeImage,
  net,
  protocol,
  safeStorage,
  session,
  shell,
  Tray,
  type UtilityProcess,
  utilityProcess,
  type WebContents,
} from 'electron'
import type { CoreToMain, MainToCore } from '../core/host/utility-protocol'
import { CSP } from '../server/csp'
import { IPC_CHANNEL } from '../shared/bridge'
import { ClientMsg } from '../shared/protocol'
import { appUrlToFile } from './app-protocol-path'
import { IpcRelay, type SenderLike } from './ipc-relay'
import { RestartPolicy } from './restart-policy'
import { APP_ORIGIN, isSafeExternalUrl, isTrustedUrl } from './trusted-url'

/**
 * The Electron edge: windows, the app:// protocol, security, the single-instance lock, the tray,
 * and the core in a utility process (restarted when it dies, with the UI told). No feature logic
 * lives here; everything testable is in the pure modules beside this file.
 */
const devUrl = process.env.ELECTRON_RENDERER_URL
const trusted = (url: string): boolean => isTrustedUrl(url, devUrl)

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
])

if (!app.requestSingleInstanceLock()) {
  // A second instance would fight the first over the stratum ports and the database.
  app.quit()
} else {
  app.on('second-instance', () => {
    const w = BrowserWindow.getAllWindows()[0]
    if (w) {
      if (w.isMinimized()) w.restore()
      w.show()
      w.focus()
    }
  })
  void app.whenReady().then(start)
}

/** The one place that opens links outside the app. */
async function openExternalSafely(url: unknown): Promise<boolean> {
  if (!isSafeExternalUrl(url)) return false
  await shell.openExternal(url)
  return true
}

let core: UtilityProcess | undefined
let quitting = false
const restart = new RestartPolicy()
const relay = new IpcRelay(
  IPC_CHANNEL,
  {
    open: (conn) => post({ k: 'open', conn }),
    message: (conn, msg) => post({ k: 'msg', conn, msg }),
    close: (conn) => post({ k: 'close', conn }),
  },
  trusted,
  (reason) => console.warn(`[hashyard] ${reason}`),
  (msg) => ClientMsg.safeParse(msg).success,
)

function post(m: MainToCore): void {
  core?.postMessage(m)
}

function startCore(): void {
  const child = utilityProcess.fork(join(__dirname, 'core.js'), [], { serviceName: 'Hashyard core', stdio: 'inherit' })
  core = child
  child.on('spawn', () => {
    const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os'
    post({
      k: 'init',
      dataDir: process.env.HASHYARD_DATA_DIR ?? app.getPath('userData'),
      cipher: { available: safeStorage.isEncryptionAvailable(), backend },
    })
  })
  child.on('message', (m: CoreToMain) => {
    switch (m.k) {
      case 'ready':
        restart.succeeded()
        for (const w of BrowserWindow.getAllWindows())
          relay.adopt(senderOf(w.webContents, w.webContents.mainFrame.url, true))
        return
      case 'msg':
        relay.fromCore(m.conn, m.msg)
        return
      case 'cipher-req':
        void (async () => {
          try {
            const data =
              m.op === 'encrypt'
                ? (await safeStorage.encryptStringAsync(m.data)).toString('base64')
                : (await safeStorage.decryptStringAsync(Buffer.from(m.data, 'base64'))).result
            post({ k: 'cipher-res', id: m.id, ok: true, data })
          } catch (e) {
            post({ k: 'cipher-res', id: m.id, ok: false, error: String(e) })
          }
        })()
        return
      case 'external-req':
        void openExternalSafely(m.url).then((opened) => post({ k: 'external-res', id: m.id, opened }))
        return
      case 'fatal':
        console.error(`[hashyard] core failed to start: ${m.message}`)
        relay.coreDown(`the core could not start: ${m.message}`)
        return
      case 'stopped':
        return
    }
  })
  child.on('exit', (code) => {
    core = undefined
    if (quitting) return
    const delay = restart.nextDelayMs()
    relay.coreDown(`the core stopped (exit code ${code}); restarting in ${Math.round(delay / 1000)} s`)
    setTimeout(startCore, delay)
  })
}

function senderOf(wc: WebContents, frameUrl: string | undefined, isMain: boolean): SenderLike {
  return {
    id: wc.id,
    mainFrameUrl: frameUrl,
    isMainFrame: isMain,
    isOurWindow: BrowserWindow.fromWebContents(wc) !== null,
    send: (ch, msg) => wc.send(ch, msg),
    isDestroyed: () => wc.isDestroyed(),
  }
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    show: false,
    title: 'Hashyard',
    backgroundColor: '#111418',
    webPreferences: {
      preload: join(__dirname, '../preload/index.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  })
  win.once('ready-to-show', () => win.show())
  const id = win.webContents.id
  win.webContents.on('destroyed', () => relay.rendererGone(id))
  void win.loadURL(devUrl ?? `${APP_ORIGIN}/`)
  return win
}

function start(): void {
  const rendererRoot = join(__dirname, '../renderer')
  protocol.handle('app', async (req) => {
    if (req.method !== 'GET') return new Response(null, { status: 405 })
    const file = appUrlToFile(rendererRoot, req.url) ?? appUrlToFile(rendererRoot, `${APP_ORIGIN}/index.html`)
    if (!file) return new Response(null, { status: 404 })
    const res = await net.fetch(pathToFileURL(file).toString())
    const headers = new Headers(res.headers)
    headers.set('Content-Security-Policy', CSP)
    headers.set('X-Content-Type-Options', 'nosniff')
    return new Response(res.body, { status: res.status, headers })
  })

  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false))
  session.defaultSession.setPermissionCheckHandler(() => false)

  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (e, url) => {
      if (!trusted(url)) {
        e.preventDefault()
        void openExternalSafely(url)
      }
    })
    contents.on('will-redirect', (e, url) => {
      if (!trusted(url)) e.preventDefault()
    })
    contents.setWindowOpenHandler(({ url }) => {
      void openExternalSafely(url)
      return { action: 'deny' }
    })
    contents.on('will-attach-webview', (e) => e.preventDefault())
  })

  ipcMain.on(IPC_CHANNEL, (event, msg: unknown) => {
    const frame = event.senderFrame
    const isMain = frame !== null && frame === event.sender.mainFrame
    relay.fromRenderer(senderOf(event.sender, frame?.url, isMain), msg)
  })

  startCore()
  createWindow()
  createTray()

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
}

let tray: Tray | undefined
function createTray(): void {
  try {
    tray = new Tray(nativeImage.createFromPath(join(__dirname, '../../resources/icon.png')))
    tray.setToolTip('Hashyard')
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: 'Show Hashyard', click: () => (BrowserWindow.getAllWindows()[0] ?? createWindow()).show() },
        { type: 'separator' },
        { label: 'Quit (stops mining services)', click: () => app.quit() },
      ]),
    )
  } catch (e) {
    // Some Linux desktops have no tray; the window works without it.
    console.warn(`[hashyard] no tray: ${String(e)}`)
  }
}

app.on('window-all-closed', () => {
  // Mining keeps running from the tray on Windows/Linux; macOS keeps apps alive by convention.
  if (!tray && process.platform !== 'darwin') app.quit()
})

app.on('before-quit', (e) => {
  if (quitting || !core) return
  quitting = true
  e.preventDefault()
  const c = core
  const done = (): void => app.exit(0)
  c.on('exit', done)
  post({ k: 'stop' })
  setTimeout(() => c.kill(), 5000)
})
