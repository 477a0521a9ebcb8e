/**
 * IPVS's counters (ipvs-facts section 7): per service, per real server and in total, five
 * numbers each, in Float64Arrays (exact integers up to 2^53, which no capture reaches).
 */
export const ST_CONNS = 0;
export const ST_INPKTS = 1;
export const ST_OUTPKTS = 2;
export const ST_INBYTES = 3;
export const ST_OUTBYTES = 4;
export const ST_FIELDS = 5;

export class Counters {
  values: Float64Array;
  constructor(readonly rows: number) {
    this.values = new Float64Array(Math.max(1, rows) * ST_FIELDS);
  }
  get(row: number, field: number): number {
    return this.values[row * ST_FIELDS + field];
  }
  /** Grows to `rows` rows keeping the existing values. */
  ensure(rows: number): void {
    if (rows * ST_FIELDS <= this.values.length) return;
    const v = new Float64Array(rows * ST_FIELDS * 2);
    v.set(this.values);
    this.values = v;
  }
}
