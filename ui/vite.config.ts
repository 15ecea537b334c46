/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `assay serve` listens here by default; the dev server forwards API calls to it.
const BACKEND_URL = 'http://127.0.0.1:7410';

export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  // Component tests run in jsdom and need Svelte's browser build, not its server build.
  resolve: mode === 'test' ? { conditions: ['browser'] } : {},
  server: {
    proxy: {
      '/api': { target: BACKEND_URL, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Desktop webview and current browsers only.
    target: 'es2022',
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
}));
