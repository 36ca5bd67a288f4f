export function processesMentioning(text: string): number[];
