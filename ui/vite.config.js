// Builds the workspace into the Python package (src/bpmn_service/webui), served at /ui by the
// service; Swagger UI's files are copied next to it for the offline /docs page.
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, '../src/bpmn_service/webui');
const require = createRequire(import.meta.url);

function swaggerUi() {
  return {
    name: 'copy-swagger-ui',
    apply: 'build',
    closeBundle() {
      const dist = dirname(require.resolve('swagger-ui-dist/package.json'));
      mkdirSync(resolve(outDir, 'swagger'), { recursive: true });
      for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE']) {
        cpSync(resolve(dist, file), resolve(outDir, 'swagger', file));
      }
    },
  };
}

export default defineConfig({
  base: '/ui/',
  plugins: [react(), swaggerUi()],
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
});
