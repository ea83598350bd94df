import { defineConfig } from "vite";

// The build lands in dist/; the Dockerfile copies it to the backend's static folder.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/api": "http://localhost:8080" } },
});
