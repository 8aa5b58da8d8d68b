// Package docs holds the source of the ldirectord(8) manual page
// (ldirectord.8.md, turned into roff by go-md2man through "make man"). It has
// no Go code; its tests build the page and check that it covers everything an
// operator of the Perl ldirectord looks for.
package docs
