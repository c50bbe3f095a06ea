// @brook/cli has no library API; its entry point is bin/brook.js (src/main.ts).
export {};
