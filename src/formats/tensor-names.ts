/**
 * The name a tensor gets when the name it wants may be taken already (models may repeat names, across
 * subgraphs or by mistake): the wanted name, or `<wanted>#2`, `#3`, … the first one free. It is marked
 * taken.
 */
export function claimName(taken: Set<string>, wanted: string): string {
  let name = wanted;
  for (let i = 2; taken.has(name); i++) name = `${wanted}#${i}`;
  taken.add(name);
  return name;
}
