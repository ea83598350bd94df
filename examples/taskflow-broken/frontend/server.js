// The broken twin's frontend: a bare Node server, as root, with no /healthz and no /api proxy.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";

const page = readFileSync(new URL("./index.html", import.meta.url));
createServer((_request, response) => {
  response.writeHead(200, { "Content-Type": "text/html" });
  response.end(page);
}).listen(8080, "0.0.0.0");
