/** What the mDNS test responder advertises, shared by the responder script and the test. */
export const HOSTILE_INSTANCE = '<img src=x onerror=alert(1)>\u001b[2J\r\nforged'
export const HOSTILE_HOST = '<script>alert(1)</script>.local'
export const PLAIN_INSTANCE = 'Bitaxe Gamma 601 (BBF0)'
