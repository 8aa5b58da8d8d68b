// Command idle stands in for a daemon that starts and never touches the
// IPVS table: the demo must fail with it.
package main

import "time"

func main() { time.Sleep(time.Hour) }
