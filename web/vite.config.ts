/// <reference types="vitest" />
import { defineConfig, loadEnv } from 'vite';
import react from '@vitejs/plugin-react';

// API base URL, fixed at build time: NEXT_PUBLIC_API_URL (the guide's name) or
// VITE_API_URL; default '' = same origin (the platform serves this app at /).
export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), ['VITE_', 'NEXT_PUBLIC_']), ...process.env };
  const apiUrl = env.VITE_API_URL ?? env.NEXT_PUBLIC_API_URL ?? '';
  return {
    plugins: [react()],
    envPrefix: ['VITE_', 'NEXT_PUBLIC_'],
    define: {
      __API_URL__: JSON.stringify(apiUrl.replace(/\/+$/, '')),
    },
    server: {
      proxy: {
        '/api': 'http://127.0.0.1:8080',
        '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
        '/health': 'http://127.0.0.1:8080',
      },
    },
    build: { chunkSizeWarningLimit: 600, sourcemap: false },
    test: {
      environment: 'jsdom',
      globals: false,
      include: ['src/**/*.test.{ts,tsx}'],
      setupFiles: ['src/test/setup.ts'],
      testTimeout: 30_000,
      restoreMocks: true,
    },
  };
});
