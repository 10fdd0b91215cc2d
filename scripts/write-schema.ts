// Writes config/edged.schema.json from the zod schema (the single source of truth).
import fs from 'node:fs'
import { configJsonSchema } from '../src/daemon/config-json-schema.ts'

const file = new URL('../config/edged.schema.json', import.meta.url)
fs.writeFileSync(file, JSON.stringify(configJsonSchema(), null, 2) + '\n')
process.stdout.write(`wrote ${file.pathname}\n`)
