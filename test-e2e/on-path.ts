// Whether an outside tool (docker-compose, kcat) is installed, so a test that needs it can say so.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** An executable named `command` is in a directory of PATH. */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return dir !== "";
    } catch {
      return false;
    }
  });
}
