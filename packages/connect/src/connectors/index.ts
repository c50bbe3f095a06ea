// The connectors that ship with Brook, by the connector.class names the REST API and connectors.yaml use.

import type { AnyConnector } from "../api.js";
import { fileSink } from "./file/file-sink.js";
import { fileSource } from "./file/file-source.js";
import { httpSink } from "./http/http-sink.js";
import { httpSource } from "./http/http-source.js";
import { brookMirror } from "./mirror/index.js";
import { postgresSink, postgresSource } from "./postgres/index.js";

export { brookMirror, fileSink, fileSource, httpSink, httpSource, postgresSink, postgresSource };

export const builtinConnectors: readonly AnyConnector[] = [
  fileSource,
  fileSink,
  httpSource,
  httpSink,
  postgresSource,
  postgresSink,
  brookMirror,
] as readonly AnyConnector[];

/** The plugins a worker offers, by class name: the built-ins and any given. */
export function pluginRegistry(extra: readonly AnyConnector[] = []): Map<string, AnyConnector> {
  const plugins = new Map<string, AnyConnector>();
  for (const plugin of [...builtinConnectors, ...extra]) {
    if (plugins.has(plugin.name)) throw new Error(`two connector plugins are named ${plugin.name}`);
    plugins.set(plugin.name, plugin);
  }
  return plugins;
}
