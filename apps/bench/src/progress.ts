/** Progress draws one bar on stderr (redrawn in place on a terminal, a line per step otherwise). */
export class Progress {
  private done = 0;
  private label = '';
  private fraction = 0;
  private readonly tty = process.stderr.isTTY === true;
  private lastLine = '';

  constructor(
    private readonly total: number,
    private readonly quiet = false,
  ) {}

  /** step starts the next unit of work. */
  step(label: string): void {
    if (this.label !== '') this.done++;
    this.label = label;
    this.fraction = 0;
    this.draw(true);
  }

  /** within reports how far the current unit is (0..1). */
  within(fraction: number): void {
    this.fraction = fraction;
    this.draw(false);
  }

  finish(): void {
    if (this.quiet) return;
    if (this.tty) process.stderr.write('\r\x1b[2K');
  }

  private draw(newStep: boolean): void {
    if (this.quiet) return;
    const overall = Math.min(1, (this.done + this.fraction) / this.total);
    const width = 30;
    const filled = Math.round(overall * width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(overall * 100)).padStart(3)}% ${this.label}`;
    if (this.tty) {
      if (line !== this.lastLine) process.stderr.write(`\r\x1b[2K${line}`);
    } else if (newStep) {
      process.stderr.write(`${line}\n`);
    }
    this.lastLine = line;
  }
}
