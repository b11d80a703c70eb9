// Nicira extension actions (filled in below)
