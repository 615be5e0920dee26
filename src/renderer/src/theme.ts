import type { Theme } from './store'

/** Applies the theme to <html data-theme>; "system" follows prefers-color-scheme live. */
export function applyTheme(theme: Theme): () => void {
  const mq = window.matchMedia('(prefers-color-scheme: dark)')
  const set = (): void => {
    document.documentElement.dataset.theme = theme === 'system' ? (mq.matches ? 'dark' : 'light') : theme
  }
  set()
  if (theme !== 'system') return () => {}
  mq.addEventListener('change', set)
  return () => mq.removeEventListener('change', set)
}
