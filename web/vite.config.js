// Builds the console into dist/ (served by ferryd). Preact's JSX is compiled
// by esbuild; no inline script ends up in index.html (ferryd's CSP forbids it).
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': process.env.FERRY_SERVER || 'http://127.0.0.1:7700' },
  },
});
