// Vite builds the reading room into frontend/dist/viewer/, which Django collects as static
// files (STATICFILES_DIRS = [frontend/dist]) and serves under /static/viewer/.
// The Django templates find the hashed file names through the manifest (readerstudy/web/vite.py).
import { defineConfig } from 'vite';

import fastMultipart from './build/fastMultipart.js';
import transferPixelData, { PAGE_FILE, WORKER_FILE } from './build/transferPixelData.js';

export default defineConfig({
  base: '/static/viewer/',
  plugins: [fastMultipart(), transferPixelData(PAGE_FILE)],
  // Cornerstone's image loader ships its own workers and WASM codecs: pre-bundling breaks them.
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: ['dicom-parser'],
  },
  worker: {
    format: 'es',
    plugins: () => [transferPixelData(WORKER_FILE)],
  },
  build: {
    outDir: 'dist/viewer',
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    // The viewer chunk is large by nature (vtk.js); a warning at 500 kB would only be noise.
    chunkSizeWarningLimit: 5000,
    rolldownOptions: {
      input: {
        reading: 'src/reading.js',
        worklist: 'src/worklist.js',
      },
    },
  },
});
