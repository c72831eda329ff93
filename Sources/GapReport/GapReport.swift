// GapReport: see Package.swift for what this stage owns.
