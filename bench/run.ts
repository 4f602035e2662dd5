// Benchmarks land with their own issue; until then the script says so instead of printing made-up figures.
process.stdout.write('bench: not yet implemented\n');
