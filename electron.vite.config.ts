import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'

// Three Node entries come out of the "main" build: the Electron main process, the core for
// Electron's utility process, and the headless server. Only `index` may import electron.
export default defineConfig({
  main: {
    build: {
      target: 'node22',
      sourcemap: true,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          core: resolve(__dirname, 'src/core/utility-entry.ts'),
          server: resolve(__dirname, 'src/server/main.ts'),
        },
      },
    },
  },
  preload: {
    // Sandboxed preloads can only require('electron'): bundle everything else, emit CommonJS.
    build: {
      externalizeDeps: false,
      rollupOptions: { input: { index: resolve(__dirname, 'src/preload/index.ts') }, output: { format: 'cjs' } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    build: { rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } } },
    plugins: [react()],
  },
})
