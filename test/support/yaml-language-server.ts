/**
 * The YAML language server (npm `yaml-language-server`, the server behind
 * VS Code's YAML extension and most editors' YAML support) driven headless,
 * as an editor drives it: the Language Server Protocol over stdio. A test
 * opens a file and gets the diagnostics an editor would show.
 *
 * The schema comes from the file's own `# yaml-language-server: $schema=`
 * line; SchemaStore's catalogue is switched off, so nothing is fetched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface LspDiagnostic {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  message: string;
  severity?: number;
  source?: string;
}

const SETTINGS = { validate: true, hover: false, completion: false, schemaStore: { enable: false }, schemas: {} };

function serverScript(): string {
  const pkg = createRequire(import.meta.url).resolve('yaml-language-server/package.json');
  return join(dirname(pkg), 'bin', 'yaml-language-server');
}

export class YamlLanguageServer {
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();
  private readonly waiting = new Map<string, (d: LspDiagnostic[]) => void>();
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => this.receive(d));
    child.stderr!.on('data', (d) => (this.stderr += d));
  }

  static async start(rootDir: string): Promise<YamlLanguageServer> {
    const child = spawn(process.execPath, [serverScript(), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = new YamlLanguageServer(child);
    await s.request('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(rootDir).href,
      capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: {} } },
    });
    s.notify('initialized', {});
    s.notify('workspace/didChangeConfiguration', { settings: { yaml: SETTINGS } });
    return s;
  }

  /** Opens a file as an editor would and returns the diagnostics the server publishes for it. */
  diagnostics(file: string, timeoutMs = 20_000): Promise<LspDiagnostic[]> {
    const uri = pathToFileURL(file).href;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${file} within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
      this.waiting.set(uri, (d) => {
        clearTimeout(timer);
        resolve(d);
      });
      this.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text: readFileSync(file, 'utf8') } });
    });
  }

  async stop(): Promise<void> {
    await Promise.race([this.request('shutdown', null), new Promise((r) => setTimeout(r, 2000))]);
    this.notify('exit', null);
    this.child.kill();
  }

  private send(message: object): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
    this.child.stdin!.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.child.stdin!.write(body);
  }

  private notify(method: string, params: unknown): void {
    this.send({ method, params });
  }

  private request(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ id, method, params });
    });
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'))?.[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const message = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8'));
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.handle(message);
    }
  }

  private handle(m: { id?: number; method?: string; params?: any; result?: unknown }): void {
    if (m.method === undefined && m.id !== undefined) {
      this.pending.get(m.id)?.(m.result);
      this.pending.delete(m.id);
    } else if (m.method === 'workspace/configuration') {
      // yaml, http, [yaml], editor: only the first matters.
      this.send({ id: m.id, result: (m.params.items as unknown[]).map((_, i) => (i === 0 ? SETTINGS : {})) });
    } else if (m.method === 'textDocument/publishDiagnostics') {
      const done = this.waiting.get(m.params.uri);
      if (done) {
        this.waiting.delete(m.params.uri);
        done(m.params.diagnostics);
      }
    } else if (m.id !== undefined) {
      // Any other request from the server (client/registerCapability, ...): accept.
      this.send({ id: m.id, result: null });
    }
  }
}
