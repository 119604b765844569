// A line diff of two documents, for the configuration view.

export const DIFF_MARK = { same: ' ', added: '+', removed: '-' };

/** Lines removed and added between two texts, as a list of [kind, line]. */
export function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA -= 1; endB -= 1; }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  let middle;
  if (midA.length * midB.length > 4_000_000) {
    middle = [...midA.map((line) => ['removed', line]), ...midB.map((line) => ['added', line])];
  } else {
    // Longest common subsequence of the changed middle, walked from the start.
    const width = midB.length + 1;
    const lcs = new Uint32Array((midA.length + 1) * width);
    for (let i = midA.length - 1; i >= 0; i -= 1) {
      for (let j = midB.length - 1; j >= 0; j -= 1) {
        lcs[i * width + j] = midA[i] === midB[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
      }
    }
    middle = [];
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) { middle.push(['same', midA[i]]); i += 1; j += 1; }
      // What goes comes before what replaces it.
      else if (i < midA.length && (j === midB.length || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) { middle.push(['removed', midA[i]]); i += 1; }
      else { middle.push(['added', midB[j]]); j += 1; }
    }
  }
  const context = 3;
  const head = a.slice(Math.max(0, start - context), start).map((line) => ['same', line]);
  const tail = a.slice(endA, endA + context).map((line) => ['same', line]);
  return [...head, ...middle, ...tail];
}
