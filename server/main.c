/* server/main.c — mynad entry point (being written). */
int main(void) { return 1; }
