import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron'
import { BRIDGE_KEY, type HashyardBridge, IPC_CHANNEL } from '../shared/bridge'
import { PROTOCOL_VERSION } from '../shared/protocol-version'

const bridge = {
  protocol: PROTOCOL_VERSION,
  send(msg: unknown): void {
    ipcRenderer.send(IPC_CHANNEL, msg)
  },
  onMessage(cb: (msg: unknown) => void): () => void {
    // Never hand the IpcRendererEvent to the page: it carries `sender`.
    const listener = (_e: IpcRendererEvent, msg: unknown): void => cb(msg)
    ipcRenderer.on(IPC_CHANNEL, listener)
    return () => {
      ipcRenderer.removeListener(IPC_CHANNEL, listener)
    }
  },
} satisfies HashyardBridge

contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge)
