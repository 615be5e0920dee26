/**
 * ESP-IDF NVS on-flash layout, format version 2 ("multipage blob support"). Facts from the ESP-IDF
 * NVS documentation (api-reference/storage/nvs_flash, "Internals") and Espressif's generator
 * (esp-idf-nvs-partition-gen); checked against the reference images in test/fixtures/nvs.
 *
 * A page is one 4096-byte flash sector: a 32-byte header, a 32-byte entry-state bitmap, then
 * 126 entries of 32 bytes. An entry is: namespace index (1), type (1), span (1), chunk index (1),
 * CRC32 (4, over the entry minus this field), key (16, NUL-padded), data (8).
 */
export const PAGE_SIZE = 4096
export const ENTRY_SIZE = 32
export const ENTRIES_PER_PAGE = 126
export const FIRST_ENTRY_OFFSET = 64
export const BITMAP_OFFSET = 32
export const KEY_MAX_LENGTH = 15

export const PAGE_STATE = {
  EMPTY: 0xffffffff,
  ACTIVE: 0xfffffffe,
  FULL: 0xfffffffc,
  FREEING: 0xfffffff8,
  CORRUPT: 0xfffffff0,
  INVALID: 0,
} as const

/** Header byte 8; version 1 is 0xFF, version 2 is 0xFE (the format the generator and ESP-Miner use). */
export const PAGE_VERSION_2 = 0xfe
export const PAGE_VERSION_1 = 0xff

/** Two bits per entry in the state bitmap. */
export const ENTRY_STATE = { EMPTY: 0b11, WRITTEN: 0b10, ERASED: 0b00 } as const

export const ITEM_TYPE = {
  u8: 0x01,
  i8: 0x11,
  u16: 0x02,
  i16: 0x12,
  u32: 0x04,
  i32: 0x14,
  u64: 0x08,
  i64: 0x18,
  string: 0x21,
  blobV1: 0x41,
  blobData: 0x42,
  blobIndex: 0x48,
} as const

export const CHUNK_ANY = 0xff

/** The generator refuses strings above this size (NUL included); the device library does too. */
export const MAX_STRING_BYTES = 4000

export type NvsIntType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32'
export type NvsBigIntType = 'u64' | 'i64'
export type NvsType = NvsIntType | NvsBigIntType | 'string' | 'blob'

/** One key/value pair of one namespace, as the ESP-IDF `nvs_get_*` API would return it. */
export type NvsEntry =
  | { namespace: string; key: string; type: NvsIntType; value: number }
  | { namespace: string; key: string; type: NvsBigIntType; value: bigint }
  | { namespace: string; key: string; type: 'string'; value: string }
  | { namespace: string; key: string; type: 'blob'; value: Uint8Array }

export const INT_RANGE: Record<NvsIntType, { min: number; max: number; bytes: 1 | 2 | 4 }> = {
  u8: { min: 0, max: 0xff, bytes: 1 },
  i8: { min: -0x80, max: 0x7f, bytes: 1 },
  u16: { min: 0, max: 0xffff, bytes: 2 },
  i16: { min: -0x8000, max: 0x7fff, bytes: 2 },
  u32: { min: 0, max: 0xffffffff, bytes: 4 },
  i32: { min: -0x80000000, max: 0x7fffffff, bytes: 4 },
}

export const BIGINT_RANGE: Record<NvsBigIntType, { min: bigint; max: bigint }> = {
  u64: { min: 0n, max: 0xffffffffffffffffn },
  i64: { min: -0x8000000000000000n, max: 0x7fffffffffffffffn },
}
