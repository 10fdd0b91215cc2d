import type { BrowserContext, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { makeTempDir } from './temp-dir.ts'

export const CHROMIUM = '/usr/bin/chromium'

export interface TestBrowser {
  context: BrowserContext
  page: (url: string) => Promise<Page>
  close: () => Promise<void>
}

/**
 * Headless Debian Chromium on a fresh profile that reaches nothing but
 * loopback: no background networking, no QUIC, no name resolution beyond
 * localhost, WebRTC host candidates as plain addresses (no mDNS names).
 */
export async function launchBrowser (): Promise<TestBrowser> {
  const profile = await makeTempDir('chromium-')
  // A persistent context is how Playwright takes a profile directory of our own (--user-data-dir).
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
      '--autoplay-policy=no-user-gesture-required'
    ]
  })
  const pages: Page[] = []
  return {
    context,
    page: async (url) => {
      const page = await context.newPage()
      pages.push(page)
      await page.goto(url)
      return page
    },
    close: async () => {
      await context.close().catch(() => {})
      await profile.cleanup()
    }
  }
}
