import { z } from 'zod'
import { configSchema } from './config-schema.ts'

/** JSON schema of the config file (what a user may write), for editors. */
export function configJsonSchema (): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://edge-stack.dev/schemas/edged.schema.json',
    title: 'edged configuration'
  }
}
