// Runs async sections one at a time, in call order: an instance's processing, commits, punctuations and
// rebalance callbacks all touch its tasks, so they take turns.

export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
