/**
 * Reads the zips `sanity functions build` writes (the CLI's own packing code, the one deploy runs): the central
 * directory's names, sizes and CRC-32s, and the bytes of stored or deflated entries. Enough to check and to run
 * what would be deployed; not a general zip reader (no zip64, no encryption).
 */
import { inflateRawSync } from 'node:zlib'

export interface ZipEntry {
  readonly name: string
  /** Uncompressed bytes. */
  readonly size: number
  readonly crc: number
  data(): Buffer
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50
const LOCAL_HEADER = 0x04034b50

export function readZip(zip: Buffer): ZipEntry[] {
  let end = zip.length - 22
  while (end >= 0 && zip.readUInt32LE(end) !== END_OF_CENTRAL_DIRECTORY) end--
  if (end < 0) throw new Error('not a zip: no end of central directory')
  const entries: ZipEntry[] = []
  let at = zip.readUInt32LE(end + 16)
  for (let count = zip.readUInt16LE(end + 10); count > 0; count--) {
    if (zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_ENTRY) throw new Error(`zip: no central directory entry at ${at}`)
    const method = zip.readUInt16LE(at + 10)
    const compressed = zip.readUInt32LE(at + 20)
    const nameLength = zip.readUInt16LE(at + 28)
    const local = zip.readUInt32LE(at + 42)
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength)
    entries.push({
      name,
      crc: zip.readUInt32LE(at + 16),
      size: zip.readUInt32LE(at + 24),
      data() {
        if (zip.readUInt32LE(local) !== LOCAL_HEADER) throw new Error(`zip: no local header for ${name}`)
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
        const raw = zip.subarray(start, start + compressed)
        if (method === 0) return Buffer.from(raw)
        if (method === 8) return inflateRawSync(raw)
        throw new Error(`zip: ${name} uses compression method ${method}`)
      },
    })
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32)
  }
  return entries
}
