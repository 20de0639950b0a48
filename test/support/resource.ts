/** A Resource as the loader would make it, without YAML (for tests of kinds and drivers). */
import type { Resource, Zone } from '../../engine/types.js';

export function testResource(
  env: string,
  kind: string,
  name: string,
  spec: any,
  opts: { labels?: Record<string, string>; file?: string; zone?: Zone } = {},
): Resource {
  return {
    address: `${env}/${kind}/${name}`,
    env,
    zone: opts.zone ?? 'school',
    apiVersion: 'einklang/v1',
    kind,
    name,
    labels: opts.labels ?? {},
    spec,
    pos: { file: opts.file ?? `${env}/manifest.yaml`, line: 1, col: 1 },
    positions: {},
    dir: env,
  };
}
