import { describe, expect, it } from 'vitest'
import { lineBatches, MAX_LINE_BYTES, type InputLine } from '../src/lines.js'

async function collect(chunks: (string | Buffer)[]): Promise<InputLine[][]> {
  async function* source(): AsyncGenerator<string | Buffer> {
    yield* chunks
  }
  const batches: InputLine[][] = []
  for await (const batch of lineBatches(source())) batches.push(batch)
  return batches
}

describe('lineBatches', () => {
  it('yields one batch per chunk, joining lines split across chunks, with CRLF stripped', async () => {
    expect(await collect(['a\r\nb', 'c\nd\n', 'e'])).toEqual([[{ text: 'a' }], [{ text: 'bc' }, { text: 'd' }], [{ text: 'e' }]])
  })

  it('keeps a multi-byte character split between two chunks intact', async () => {
    const bytes = Buffer.from('{"x":"é"}\n')
    const cut = bytes.indexOf(0xa9) // second byte of é
    expect(await collect([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual([[{ text: '{"x":"é"}' }]])
  })

  it('reports an over-long line once and resumes after its newline', async () => {
    const huge = 'x'.repeat(MAX_LINE_BYTES + 1)
    const batches = await collect(['ok\n', huge, 'more', '\nnext\n'])
    expect(batches.flat()).toEqual([{ text: 'ok' }, { text: '', tooLong: true }, { text: 'next' }])
  })
})
