/// <reference types="vitest/config" />
// The chat app's build: one entry (index.html), a main bundle and lazy chunks (KaTeX, Mermaid and its diagrams), in
// dist/ (`make chat-ui` writes it into the Python package instead, where the wheel picks it up). File names carry a
// content hash, so the build is reproducible and the server can cache them forever.
import { defineConfig, type Plugin } from "vite";

// KaTeX's stylesheet names each font three times (woff2, woff, ttf); every browser the chat supports reads woff2, so
// the other two are dropped from the stylesheet and never reach the package.
function katexWoff2Only(): Plugin {
  return {
    name: "katex-woff2-only",
    enforce: "pre",
    transform(code, id) {
      if (!/katex(\.min)?\.css$/.test(id)) return null;
      return code.replace(/,\s*url\([^)]*\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)/g, "");
    },
  };
}

export default defineConfig({
  base: "./",
  plugins: [katexWoff2Only()],
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // Fonts stay files (the page's Content-Security-Policy allows fonts from the server only, not data: URLs).
    assetsInlineLimit: 0,
    target: "es2022",
    // Mermaid's chunks are large by nature: they load only when a diagram appears.
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
    rolldownOptions: {
      output: {
        // The libraries the main bundle shares with the lazy chunks live in a chunk of their own, so a change to the
        // app's code renames two files, not every Mermaid chunk that imports from the main bundle.
        codeSplitting: {
          groups: [{ name: "vendor", test: /node_modules[\\/](preact|marked|dompurify|highlight\.js|idb-keyval)[\\/]|vite[\\/]preload-helper/ }],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
  },
});
