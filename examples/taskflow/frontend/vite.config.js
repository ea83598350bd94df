import { defineConfig } from "vite";

// `npm run dev` proxies /api the way nginx does in the image.
export default defineConfig({
  server: {
    proxy: { "/api": process.env.BACKEND_URL ?? "http://127.0.0.1:8000" },
  },
  build: { outDir: "dist", sourcemap: false },
  test: { environment: "node", include: ["src/**/*.test.js"] },
});
