/* The comparison's control: prints its pid, which is 1 in the microVM and a
 * larger number natively, so the harness must report a difference. */
#include "../abi.h"

int main(void)
{
	printf("control: the output before the pid\n");
	printf("pid: %d\n", (int)getpid());
	printf("control: the output after the pid\n");
	return 0;
}
