import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The build lands inside the Python package, so `pip install` and `clew server` ship it;
// it is never committed (see .gitignore).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../src/clew/server/ui_dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:5000",
    },
  },
  test: {
    include: ["tests/**/*.test.ts"],
  },
});
