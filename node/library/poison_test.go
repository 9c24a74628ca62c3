package library

// Freed pooled buffers are overwritten in these tests (see poisoned).
import _ "github.com/myconet/myconet/internal/bufpool/poisoned"
